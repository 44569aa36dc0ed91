package main

import (
	"fmt"
	"runtime/debug"
)

func init() {
	register("version", "print the program and Go versions", "", func(ctx *runContext, args []string) error {
		fs := newFlagSet(ctx, "version", "", "Print the program and Go versions.")
		if err := fs.Parse(args); err != nil {
			return err
		}
		version, goVersion := "(devel)", "unknown"
		if info, ok := debug.ReadBuildInfo(); ok {
			version, goVersion = info.Main.Version, info.GoVersion
		}
		fmt.Fprintf(ctx.stdout, "gemma3n-therapy %s (%s)\n", version, goVersion)
		return nil
	})
}
