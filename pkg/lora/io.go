package lora

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safetensors"
)

// maxConfigSize bounds adapter_config.json (real ones are ~1 KB).
const maxConfigSize = 16 << 20

// Load reads a PEFT LoRA adapter directory (adapter_config.json and
// adapter_model.safetensors, in either checkpoint layout) and installs it
// on model as its linear function. It is the one call a command needs for
// --adapter DIR.
//
// Every adapter tensor must belong to a linear layer of the model, come in
// A/B pairs with shapes [r, in] and [out, r] that fit the base weight
// [out, in], and have the rank adapter_config.json gives (r or
// rank_pattern). Adapters on the unused K/V projections of KV-shared layers
// (written by older transformers versions) and on the vision or audio
// towers are skipped with a warning (see Adapter.Warnings).
func Load(model *gemma3n.Model, dir string) (*Adapter, error) {
	p, path, f, err := openAdapter(dir)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return loadTensors(model, p, path, f)
}

// openAdapter reads an adapter directory's adapter_config.json and opens
// its adapter_model.safetensors (at path), for Load and ReadUpdates.
func openAdapter(dir string) (p *peftFile, path string, f *safetensors.File, err error) {
	if p, err = readPEFTConfig(filepath.Join(dir, ConfigFileName)); err != nil {
		return nil, "", nil, err
	}
	path = filepath.Join(dir, WeightsFileName)
	if f, err = safetensors.Open(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, binErr := os.Stat(filepath.Join(dir, "adapter_model.bin")); binErr == nil {
				return nil, "", nil, fmt.Errorf("lora: %s: only safetensors adapters are supported, found adapter_model.bin (re-save it with PEFT's safe_serialization=True)", dir)
			}
		}
		return nil, "", nil, fmt.Errorf("lora: %w", err)
	}
	return p, path, f, nil
}

func readPEFTConfig(path string) (*peftFile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("lora: %w", err)
	}
	if st.Size() > maxConfigSize {
		return nil, fmt.Errorf("lora: %s: %d bytes is too large for an adapter config", path, st.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("lora: %w", err)
	}
	p, err := parsePEFTConfig(path, data)
	if err != nil {
		return nil, fmt.Errorf("lora: %w", err)
	}
	return p, nil
}

// tensorSource is what loadTensors needs of a safetensors file.
type tensorSource interface {
	Names() []string
	Info(name string) (safetensors.TensorInfo, bool)
	Tensor(name string, dtype dtypes.DType) (*tensors.Tensor, error)
}

// adapterPair is one module's A and B tensors in an adapter file, checked
// against the model.
type adapterPair struct {
	module       linearModule
	rank         int
	alpha        float64
	nameA, nameB string
}

// pairTensors checks the adapter tensors of src (read from file) against a
// model of config cfg: every tensor belongs to a linear layer, comes in an
// A/B pair with shapes [r, in] and [out, r] and the rank of the adapter's
// config. It returns the pairs in the model's module order, the layout the
// names use and warnings about skipped tensors.
func pairTensors(cfg *gemma3n.Config, p *peftFile, file string, src tensorSource) (pairs []adapterPair, layout Layout, warnings []string, err error) {
	errorf := func(format string, args ...any) error {
		return fmt.Errorf("lora: %s: %s", file, fmt.Sprintf(format, args...))
	}
	type pair struct{ a, b string } // tensor names
	byModule := map[string]*pair{}
	var nonText, dead []string
	layoutSet := false
	known := moduleIndex(cfg)
	for _, name := range src.Names() {
		module, isB, l, err := parseTensorName(name)
		if errors.Is(err, errNonText) {
			nonText = append(nonText, name)
			continue
		}
		if err != nil {
			return nil, 0, nil, errorf("%v", err)
		}
		if !layoutSet {
			layout, layoutSet = l, true
		} else if l != layout {
			return nil, 0, nil, errorf("tensor %q uses the %s layout, earlier tensors the %s layout", name, l, layout)
		}
		m, ok := known[module]
		if !ok {
			return nil, 0, nil, errorf("tensor %q: %q is not a linear layer of this model (%d layers; wrong base model?)",
				name, module, cfg.NumHiddenLayers)
		}
		if m.dead {
			if !isB {
				dead = append(dead, module)
			}
			continue
		}
		pr := byModule[module]
		if pr == nil {
			pr = &pair{}
			byModule[module] = pr
		}
		if isB {
			pr.b = name
		} else {
			pr.a = name
		}
	}
	if len(nonText) > 0 {
		warnings = append(warnings, fmt.Sprintf("skipped %d adapter tensor(s) of the vision/audio towers (the text decoder has no such modules): %s",
			len(nonText), summarizeNames(nonText)))
	}
	if len(dead) > 0 {
		warnings = append(warnings, fmt.Sprintf("skipped the adapters of %d K/V projection(s) of KV-shared layers (the forward pass never uses them): %s",
			len(dead), summarizeNames(dead)))
	}
	if len(byModule) == 0 {
		return nil, 0, nil, errorf("no LoRA tensors for the text decoder")
	}
	for _, m := range linearModules(cfg) {
		pr := byModule[m.name]
		if pr == nil {
			continue
		}
		if pr.a == "" || pr.b == "" {
			have, want := pr.a+pr.b, layout.TensorName(m.name, pr.a != "")
			return nil, 0, nil, errorf("tensor %q has no partner %q", have, want)
		}
		r, alpha := p.cfg.rankAndAlpha(m.name)
		infoA, _ := src.Info(pr.a)
		infoB, _ := src.Info(pr.b)
		if want := []int{r, m.in}; !slices.Equal(infoA.Shape, want) {
			return nil, 0, nil, errorf("tensor %q has shape %v, want %v ([r, in] with r = %d from %s, in = %d from the base weight)",
				pr.a, infoA.Shape, want, r, ConfigFileName, m.in)
		}
		if want := []int{m.out, r}; !slices.Equal(infoB.Shape, want) {
			return nil, 0, nil, errorf("tensor %q has shape %v, want %v ([out, r] with out = %d from the base weight, r = %d)",
				pr.b, infoB.Shape, want, m.out, r)
		}
		pairs = append(pairs, adapterPair{module: m, rank: r, alpha: alpha, nameA: pr.a, nameB: pr.b})
	}
	return pairs, layout, warnings, nil
}

// loadTensors checks the adapter tensors of src (read from file) against
// the model and installs them.
func loadTensors(model *gemma3n.Model, p *peftFile, file string, src tensorSource) (*Adapter, error) {
	a := newAdapter(model, p.cfg)
	a.peft = p.raw
	pairs, layout, warnings, err := pairTensors(model.Config, p, file, src)
	if err != nil {
		return nil, err
	}
	a.Layout = layout
	a.warnings = append(a.warnings, warnings...)
	values := map[string][2]*tensors.Tensor{}
	for _, pr := range pairs {
		tA, err := src.Tensor(pr.nameA, dtypes.Float32)
		if err != nil {
			return nil, fmt.Errorf("lora: %w", err)
		}
		tB, err := src.Tensor(pr.nameB, dtypes.Float32)
		if err != nil {
			return nil, fmt.Errorf("lora: %w", err)
		}
		a.addModule(pr.module, pr.rank, pr.alpha)
		values[pr.module.name] = [2]*tensors.Tensor{tA, tB}
	}
	if err := a.install(values); err != nil {
		return nil, err
	}
	return a, nil
}

// Save writes the adapter as PEFT does: adapter_model.safetensors (float32
// A and B under PEFT's names in a.Layout) and adapter_config.json, each
// atomically, creating dir if needed. A loaded adapter keeps the other
// fields of its adapter_config.json.
func (a *Adapter) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("lora: %w", err)
	}
	entries := make([]safetensors.Entry, 0, 2*len(a.modules))
	for _, m := range a.modules {
		for _, isB := range []bool{false, true} {
			name := VarA
			if isB {
				name = VarB
			}
			variable := a.model.Store.GetVariable(variablePath(m.Name, name))
			if variable == nil {
				return fmt.Errorf("lora: variable %s is missing from the model store", variablePath(m.Name, name))
			}
			t, err := variable.Value()
			if err != nil {
				return fmt.Errorf("lora: reading %s: %w", variable.Path(), err)
			}
			e, err := safetensors.EntryFromTensor(a.Layout.TensorName(m.Name, isB), t, "F32")
			if err != nil {
				return fmt.Errorf("lora: %w", err)
			}
			entries = append(entries, e)
		}
	}
	config, err := a.configJSON()
	if err != nil {
		return err
	}
	if err := safetensors.Write(filepath.Join(dir, WeightsFileName), entries, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("lora: %w", err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, ConfigFileName), config); err != nil {
		return fmt.Errorf("lora: %w", err)
	}
	return nil
}

// configJSON renders the adapter's adapter_config.json.
func (a *Adapter) configJSON() ([]byte, error) {
	var base map[string]json.RawMessage
	var targets json.RawMessage
	if a.peft != nil {
		base = a.peft
		// target_modules of a loaded adapter stay as written; PEFT uses
		// them to place the adapters when loading.
	} else {
		var err error
		if targets, err = a.targetModulesJSON(); err != nil {
			return nil, err
		}
	}
	return encodePEFTConfig(base, a.cfg, targets)
}

// targetModulesJSON is the target_modules a new adapter records. Module
// names are kept as given when they mean the same to PEFT on the saved
// layout; otherwise (patterns, or names that would also select modules of
// the audio tower in the multimodal model) the adapted modules are listed
// explicitly, which PEFT matches exactly.
func (a *Adapter) targetModulesJSON() (json.RawMessage, error) {
	match, err := newMatcher(a.cfg.TargetModules)
	if err != nil {
		return nil, err
	}
	var list []string
	if match.allPlainNames() && a.Layout == LayoutCausalLM {
		list = a.cfg.TargetModules
	} else {
		for _, m := range a.modules {
			if a.Layout == LayoutMultimodal {
				list = append(list, "language_model."+m.Name)
			} else {
				list = append(list, m.Name)
			}
		}
	}
	return marshalNoEscape(list)
}
