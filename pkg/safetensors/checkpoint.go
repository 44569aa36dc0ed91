package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

// File names of Hugging Face checkpoints.
const (
	SingleFileName = "model.safetensors"
	IndexFileName  = "model.safetensors.index.json"
)

// maxIndexSize bounds the index file read into memory; real ones are < 1 MB.
const maxIndexSize = 64 << 20

// Checkpoint is a set of safetensors files seen as one name → tensor map:
// a single file, or the shards of a Hugging Face index.
type Checkpoint struct {
	path  string // what OpenCheckpoint was given
	files []*File
	owner map[string]*File
	names []string
}

// OpenCheckpoint opens a checkpoint given as a .safetensors file, an index
// .json file, or a directory holding model.safetensors.index.json or
// model.safetensors (or else exactly one *.safetensors.index.json or one
// *.safetensors file). Every file's header is validated, and every tensor of
// an index must exist in the shard the index names.
func OpenCheckpoint(path string) (*Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	file := path
	if st.IsDir() {
		if file, err = findCheckpointFile(path); err != nil {
			return nil, err
		}
	}
	var c *Checkpoint
	if strings.HasSuffix(file, ".json") {
		c, err = openIndex(file)
	} else {
		c, err = openSingle(file)
	}
	if err != nil {
		return nil, err
	}
	c.path = path
	return c, nil
}

// findCheckpointFile picks the file describing the checkpoint in dir.
func findCheckpointFile(dir string) (string, error) {
	for _, name := range []string{IndexFileName, SingleFileName} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	for _, pattern := range []string{"*.safetensors.index.json", "*.safetensors"} {
		matches, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return "", fmt.Errorf("safetensors: %w", err)
		}
		switch len(matches) {
		case 0:
			continue
		case 1:
			return matches[0], nil
		default:
			return "", fmt.Errorf("safetensors: %s has no %s or %s and several candidates: %s",
				dir, IndexFileName, SingleFileName, strings.Join(baseNames(matches), ", "))
		}
	}
	return "", fmt.Errorf("safetensors: %s has no %s, %s or other .safetensors file", dir, IndexFileName, SingleFileName)
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

func openSingle(path string) (*Checkpoint, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{files: []*File{f}, owner: make(map[string]*File, len(f.h.names)), names: f.Names()}
	for _, name := range c.names {
		c.owner[name] = f
	}
	return c, nil
}

// indexJSON is the layout of model.safetensors.index.json.
type indexJSON struct {
	Metadata  map[string]any    `json:"metadata,omitempty"`
	WeightMap map[string]string `json:"weight_map"`
}

func readIndex(path string) (*indexJSON, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxIndexSize+1))
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	if len(data) > maxIndexSize {
		return nil, fmt.Errorf("safetensors: %s: index larger than %d bytes", path, maxIndexSize)
	}
	var idx indexJSON
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("safetensors: %s: invalid index JSON: %v", path, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("safetensors: %s: index has no \"weight_map\" entries", path)
	}
	for name, shard := range idx.WeightMap {
		if !filepath.IsLocal(filepath.FromSlash(shard)) || !strings.HasSuffix(shard, ".safetensors") {
			return nil, fmt.Errorf("safetensors: %s: tensor %q: shard %q is not a .safetensors file inside the checkpoint directory", path, name, shard)
		}
	}
	return &idx, nil
}

func openIndex(path string) (_ *Checkpoint, err error) {
	idx, err := readIndex(path)
	if err != nil {
		return nil, err
	}
	byShard := map[string][]string{}
	for name, shard := range idx.WeightMap {
		byShard[shard] = append(byShard[shard], name)
	}
	shards := make([]string, 0, len(byShard))
	for shard := range byShard {
		shards = append(shards, shard)
		slices.Sort(byShard[shard])
	}
	slices.Sort(shards)

	c := &Checkpoint{owner: make(map[string]*File, len(idx.WeightMap))}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	dir := filepath.Dir(path)
	for _, shard := range shards {
		names := byShard[shard]
		f, err := Open(filepath.Join(dir, filepath.FromSlash(shard)))
		if err != nil {
			return nil, fmt.Errorf("safetensors: %s maps %d tensors (first %q) to shard %s, which cannot be opened: %w",
				path, len(names), names[0], shard, err)
		}
		c.files = append(c.files, f)
		for _, name := range names {
			if _, ok := f.h.tensors[name]; !ok {
				return nil, fmt.Errorf("safetensors: %s maps tensor %q to shard %s, which has no such tensor", path, name, shard)
			}
			c.owner[name] = f
		}
	}
	c.names = make([]string, 0, len(c.owner))
	for name := range c.owner {
		c.names = append(c.names, name)
	}
	slices.Sort(c.names)
	return c, nil
}

// Path is the path given to OpenCheckpoint.
func (c *Checkpoint) Path() string { return c.path }

// Files lists the paths of the checkpoint's files.
func (c *Checkpoint) Files() []string {
	out := make([]string, len(c.files))
	for i, f := range c.files {
		out[i] = f.Path()
	}
	return out
}

// Names lists all tensors in sorted order.
func (c *Checkpoint) Names() []string { return slices.Clone(c.names) }

// Info describes a tensor; Begin and End are offsets in its own file.
func (c *Checkpoint) Info(name string) (TensorInfo, bool) {
	f, ok := c.owner[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

// FileOf returns the file holding a tensor.
func (c *Checkpoint) FileOf(name string) (*File, bool) {
	f, ok := c.owner[name]
	return f, ok
}

// Metadata is the "__metadata__" of the first file (shards written together
// carry the same).
func (c *Checkpoint) Metadata() map[string]string {
	if len(c.files) == 0 {
		return nil
	}
	return c.files[0].Metadata()
}

func (c *Checkpoint) file(name string) (*File, error) {
	f, ok := c.owner[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: checkpoint %s: no tensor %q", c.path, name)
	}
	return f, nil
}

// Tensor reads a tensor converted to dtype; see File.Tensor.
func (c *Checkpoint) Tensor(name string, dtype dtypes.DType) (*tensors.Tensor, error) {
	f, err := c.file(name)
	if err != nil {
		return nil, err
	}
	return f.Tensor(name, dtype)
}

// Bytes returns a tensor's raw data; see File.Bytes.
func (c *Checkpoint) Bytes(name string) ([]byte, error) {
	f, err := c.file(name)
	if err != nil {
		return nil, err
	}
	return f.Bytes(name)
}

// Close closes every file.
func (c *Checkpoint) Close() error {
	var errs []error
	for _, f := range c.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// ReadInto converts a tensor into dst; see File.ReadInto.
func (c *Checkpoint) ReadInto(name string, dst []byte, dstType DType) error {
	f, err := c.file(name)
	if err != nil {
		return err
	}
	return f.ReadInto(name, dst, dstType)
}
