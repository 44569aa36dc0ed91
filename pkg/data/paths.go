package data

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnvDataDir names the environment variable that points at the datasets
// directory when no directory is given explicitly.
const EnvDataDir = "GEMMA3N_THERAPY_DATA"

// Paths are the shipped data files inside a datasets directory.
type Paths struct {
	Dir          string
	AnnoMISimple string
	AnnoMIFull   string
	CounselChat  string
}

// PathsIn lays out the shipped file names under a datasets directory.
func PathsIn(dir string) Paths {
	return Paths{
		Dir:          dir,
		AnnoMISimple: filepath.Join(dir, "annomi", "AnnoMI-simple.csv"),
		AnnoMIFull:   filepath.Join(dir, "annomi", "AnnoMI-full.csv"),
		CounselChat:  filepath.Join(dir, "counselchat", "20220401_counsel_chat.csv"),
	}
}

// FindDataDir locates the datasets directory. An explicit dir wins (either
// the datasets directory itself or a repository root that contains
// datasets/), then $GEMMA3N_THERAPY_DATA, then the first datasets/ found
// walking up from the working directory. A directory counts when it holds
// annomi/AnnoMI-simple.csv.
func FindDataDir(dir string) (string, error) {
	if dir != "" {
		return checkDataDir(dir, "given directory")
	}
	if env := os.Getenv(EnvDataDir); env != "" {
		return checkDataDir(env, "$"+EnvDataDir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if isDataDir(filepath.Join(d, "datasets")) {
			return filepath.Join(d, "datasets"), nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("no datasets directory (with annomi/AnnoMI-simple.csv) in %s or any parent; run from the repository, pass --data-dir or set %s", wd, EnvDataDir)
}

func checkDataDir(dir, what string) (string, error) {
	if isDataDir(dir) {
		return dir, nil
	}
	if sub := filepath.Join(dir, "datasets"); isDataDir(sub) {
		return sub, nil
	}
	return "", fmt.Errorf("%s %s is not a datasets directory: %s not found", what, dir, PathsIn(dir).AnnoMISimple)
}

func isDataDir(dir string) bool {
	info, err := os.Stat(PathsIn(dir).AnnoMISimple)
	return err == nil && info.Mode().IsRegular()
}
