package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/backend"
)

func init() {
	register("version", "print the program, Go and GoMLX versions, SIMD and the backend", "[--backend CONFIG]", func(ctx *runContext, args []string) error {
		fs := newFlagSet(ctx, "version", "[--backend CONFIG]",
			"Print the program and Go versions, the GoMLX version, whether the pure-Go backend has its\n"+
				"SIMD kernels (a build with GOEXPERIMENT=simd), the backends compiled in and the one that runs.")
		backendFlag := fs.String("backend", "", backendHelp)
		if err := fs.Parse(args); err != nil {
			return err
		}
		version, goVersion := "(devel)", "unknown"
		if info, ok := debug.ReadBuildInfo(); ok {
			version, goVersion = info.Main.Version, info.GoVersion
		}
		b := backend.BuildInfo(*backendFlag)
		simd := "on"
		if !b.SIMD {
			simd = "off (build with GOEXPERIMENT=simd for ~10x faster CPU matrix products)"
		}
		fmt.Fprintf(ctx.stdout, "gemma3n-therapy %s (%s)\n", version, goVersion)
		fmt.Fprintf(ctx.stdout, "gomlx %s; simd %s\n", b.GoMLX, simd)
		fmt.Fprintf(ctx.stdout, "backends compiled in: %s; backend: %s\n", strings.Join(b.Backends, ", "), b.Selected)
		preemption := "off"
		if _, added := backend.WithNoAsyncPreemption(os.Getenv("GODEBUG")); added {
			preemption = "on (set GODEBUG=" + backend.NoAsyncPreemption + " for full CPU speed)"
		}
		fmt.Fprintf(ctx.stdout, "async preemption: %s\n", preemption)
		return nil
	})
}
