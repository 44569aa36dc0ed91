// Package runcheck decides whether a training stage may continue its run
// directory, in one place for every command that has --resume (train sft,
// train full, dpo, and the stages of train curriculum and train
// sequential).
//
// A resume must continue the run that the directory records: the resolved
// configuration of this invocation is compared with the run's config.yaml,
// and what the run trains from (its Identity: the model, the adapter it
// starts from, a fingerprint of its data) with the identity that run.json
// recorded when the run started. Any difference is an error that names each
// differing key, old → new, and is returned before anything is written.
// Only the settings listed in Mutable may change; a resume records itself,
// with the Mutable settings it changed, in run.json's "resumes" list, and
// config.yaml keeps the configuration the run started with.
package runcheck

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/train"
)

// Files of a run directory that the check reads.
const (
	ConfigFileName = "config.yaml" // the resolved configuration the run started with
	RecordFileName = "run.json"    // "identity" and "resumes" (a pipeline's run.json also holds its settings)
)

// Mutable lists the configuration keys that may differ when a run is
// resumed. They say where the graphs run, how long the run goes on (the
// trainer warns that a new max_steps changes the learning-rate schedule)
// and how often it reports and saves; none changes what a step computes.
// Every other key must equal the run's.
var Mutable = []string{
	"model.backend",
	"training.max_steps",
	"training.logging_steps",
	"training.eval_steps",
	"training.save_steps",
	"training.save_total_limit",
}

// Identity is what a run trains from besides its configuration, as JSON
// values by name: e.g. a hash of the model's architecture and of the
// adapter it starts from, and its data summary. Nested objects are
// compared key by key.
type Identity map[string]any

// Event is one resume as run.json's "resumes" list records it.
type Event struct {
	Time       time.Time       `json:"time"`
	Checkpoint string          `json:"checkpoint,omitempty"` // the checkpoint continued from
	Step       int             `json:"step"`                 // its step
	Changes    []config.Change `json:"changes,omitempty"`    // the Mutable settings that differ from config.yaml
}

// Resumption is a run directory whose configuration allows this
// invocation to continue it.
type Resumption struct {
	dir      string
	changes  []config.Change
	identity Identity
}

// Prepare checks how a stage may start in dir with the configuration now.
// Without resume it returns nil for a directory without checkpoints (a new
// run) and an error for one with checkpoints. With resume it is an error
// when dir has no checkpoint (naming the checkpoints directory), and
// otherwise Compare's result.
func Prepare(dir string, resume bool, now *config.All) (*Resumption, error) {
	latest, err := train.LatestCheckpoint(dir)
	switch {
	case err != nil:
		return nil, err
	case latest == "" && resume:
		return nil, NothingToResume(dir, "there is no checkpoint in "+train.CheckpointsDir(dir))
	case latest == "":
		return nil, nil
	case !resume:
		return nil, fmt.Errorf("run directory %s already has checkpoints (newest %s): resume it, or use a new directory", dir, filepath.Base(latest))
	}
	return Compare(dir, now)
}

// NothingToResume is the error of --resume where there is no run to
// continue; why says what is missing where.
func NothingToResume(dir, why string) error {
	return fmt.Errorf("cannot resume %s: %s; drop --resume to start a new run there", dir, why)
}

// Compare checks the configuration now against dir's config.yaml: keys
// outside Mutable that differ are an error naming each of them; the
// Mutable ones that differ are the resumption's Changes.
func Compare(dir string, now *config.All) (*Resumption, error) {
	path := filepath.Join(dir, ConfigFileName)
	saved, err := config.LoadResolved(path)
	if err != nil {
		return nil, fmt.Errorf("cannot resume %s: %w", dir, err)
	}
	r := &Resumption{dir: dir}
	var fixed []config.Change
	for _, c := range config.Diff(saved, now) {
		if slices.Contains(Mutable, c.Key) {
			r.changes = append(r.changes, c)
		} else {
			fixed = append(fixed, c)
		}
	}
	if len(fixed) > 0 {
		return nil, differs(dir, "the configuration differs from the run's "+path, fixed,
			"resume with the settings the run started with, or start a new run in another directory (only "+strings.Join(Mutable, ", ")+" may change on resume)")
	}
	return r, nil
}

// Changes are the Mutable settings this invocation changes, old → new.
func (r *Resumption) Changes() []config.Change { return slices.Clone(r.changes) }

// CheckIdentity compares id with the identity in dir's run.json: every
// differing key is an error. A run started before run.json recorded an
// identity has none to compare; Record then writes id as its identity.
func (r *Resumption) CheckIdentity(id Identity) error {
	r.identity = id
	path := filepath.Join(r.dir, RecordFileName)
	rec, err := readRecord(path)
	if err != nil {
		return fmt.Errorf("cannot resume %s: %w", r.dir, err)
	}
	raw, ok := rec["identity"]
	if !ok {
		return nil
	}
	var saved any
	if err := json.Unmarshal(raw, &saved); err != nil {
		return fmt.Errorf("cannot resume %s: %s: %w", r.dir, path, err)
	}
	now, err := asJSON(id)
	if err != nil {
		return err
	}
	if changes := diffJSON(saved, now); len(changes) > 0 {
		return differs(r.dir, "what it trains from differs from the run's "+path, changes,
			"resume with the model, adapter and data the run started with, or start a new run in another directory")
	}
	return nil
}

// Record appends this resume, from checkpoint (at step; empty for a
// pipeline, whose stages record their own), to run.json, keeping its other
// fields, and writes the identity given to CheckIdentity when run.json has
// none.
func (r *Resumption) Record(checkpoint string, step int) error {
	path := filepath.Join(r.dir, RecordFileName)
	rec, err := readRecord(path)
	if err != nil {
		return err
	}
	if _, ok := rec["identity"]; !ok && r.identity != nil {
		if rec["identity"], err = json.Marshal(r.identity); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	var events []Event
	if raw, ok := rec["resumes"]; ok {
		if err := json.Unmarshal(raw, &events); err != nil {
			return fmt.Errorf("%s: resumes: %w", path, err)
		}
	}
	events = append(events, Event{Time: time.Now().UTC().Truncate(time.Second), Checkpoint: checkpoint, Step: step, Changes: r.changes})
	if rec["resumes"], err = json.Marshal(events); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteJSON(path, rec)
}

// Start writes the record of a new run in dir (made if need be): run.json
// with its identity, then config.yaml with its resolved configuration.
func Start(dir string, cfg *config.All, id Identity) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, RecordFileName), map[string]Identity{"identity": id}); err != nil {
		return err
	}
	if err := cfg.WriteYAML(filepath.Join(dir, ConfigFileName)); err != nil {
		return fmt.Errorf("writing the resolved configuration: %w", err)
	}
	return nil
}

// HashFiles is the SHA-256 of the names and contents of the regular files
// directly in dir, in name order: the identity of an adapter directory.
func HashFiles(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00", e.Name())
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// HashJSON is the SHA-256 of v's JSON encoding, e.g. of a model's
// architecture.
func HashJSON(v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// readRecord reads run.json as its top-level fields; a missing file is an
// empty record.
func readRecord(path string) (map[string]json.RawMessage, error) {
	rec := map[string]json.RawMessage{}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rec, nil
}

// differs is the error listing the changes that forbid a resume.
func differs(dir, what string, changes []config.Change, hint string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "cannot resume %s: %s in %d key(s), old → new:", dir, what, len(changes))
	for _, c := range changes {
		b.WriteString("\n  " + c.String())
	}
	b.WriteString("\n" + hint)
	return errors.New(b.String())
}

// asJSON is v as encoding/json decodes its encoding (maps, slices, numbers,
// strings, booleans), so that it compares with a decoded file.
func asJSON(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(data, &out)
	return out, err
}

// diffJSON lists the keys whose values differ between two decoded JSON
// values, in key order: objects and lists of objects are compared entry by
// entry ("data.sources.0.examples"), other values as a whole; a key on one
// side only reads "(none)" on the other.
func diffJSON(old, new any) []config.Change {
	a, b := map[string]string{}, map[string]string{}
	flatten("", old, a)
	flatten("", new, b)
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []config.Change
	for _, k := range keys {
		x, okA := a[k]
		y, okB := b[k]
		if okA && okB && x == y {
			continue
		}
		if !okA {
			x = "(none)"
		}
		if !okB {
			y = "(none)"
		}
		out = append(out, config.Change{Key: k, Old: x, New: y})
	}
	return out
}

// flatten writes the leaves of v into out by dotted key.
func flatten(key string, v any, out map[string]string) {
	join := func(k string) string {
		if key == "" {
			return k
		}
		return key + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(join(k), e, out)
		}
		return
	case []any:
		if slices.ContainsFunc(x, func(e any) bool { _, ok := e.(map[string]any); return ok }) {
			for i, e := range x {
				flatten(join(strconv.Itoa(i)), e, out)
			}
			return
		}
	}
	data, _ := json.Marshal(v) // decoded JSON always encodes
	out[key] = string(data)
}
