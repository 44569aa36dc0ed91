package safety

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/jsonl"
)

// Item is one labelled example of the evaluation set (datasets/safety/):
// a message or a conversation, with the level, categories and subject a
// careful reader gives it.
type Item struct {
	ID string `json:"id"`
	// Text is a single user message; Messages a conversation, labelled as
	// it stands after its last user turn. Exactly one is set.
	Text     string         `json:"text,omitempty"`
	Messages []data.Message `json:"messages,omitempty"`

	Level      Level      `json:"level"`
	Categories []Category `json:"categories"`
	Subject    Subject    `json:"subject,omitempty"` // "" at level none
	// Kind names the phenomenon the item tests ("passive", "hyperbole",
	// "negation", "third_party", "obfuscated", ...).
	Kind string `json:"kind"`
	// HardNegative marks items that trip keyword lists: none-level
	// hyperbole, negation, clinical or academic talk, questions, quotations
	// and everyday sadness, and third-party concerns.
	HardNegative bool `json:"hard_negative"`
}

// Screen screens the item: its text, or its conversation.
func (it *Item) Screen() Result {
	if it.Messages != nil {
		return ScreenConversation(it.Messages)
	}
	return Screen(it.Text)
}

// SetDir is the labelled set's directory inside a datasets directory.
const SetDir = "safety"

// Parts are the measured parts of the shipped set
// (datasets/safety/PART.jsonl), in the order they were written (see
// datasets/safety/README.md): the rules were tuned on dev from the start;
// each later part was written before a round of tuning, measured once, and
// then tuned or trained on too. FreshParts are not among them yet.
var Parts = []string{"dev", "test", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7", "holdout8", "holdout9", "holdout10", "holdout11", "holdout12", "holdout13", "holdout14", "holdout15", "holdout16", "holdout17", "holdout18", "holdout19", "holdout20", "holdout21", "holdout22", "holdout23"}

// FreshParts are the parts written last, by other authors, and measured
// once with the screen as shipped: no rule was changed and nothing was
// trained because of them. They are the honest estimate of the screen on
// text it has not seen; `safety eval --file` scores them.
var FreshParts = []string{"holdout24", "holdout25", "holdout26", "holdout27", "holdout28", "holdout29"}

// LoadLabelled reads a labelled set (JSON lines of Item).
func LoadLabelled(path string) ([]Item, error) {
	return jsonl.ReadFile(path, ReadLabelled)
}

// ReadLabelled reads JSON lines of Item strictly: unknown fields, invalid
// levels or categories, a level that disagrees with the categories, and
// duplicate ids are errors naming the input and the 1-based line.
func ReadLabelled(r io.Reader, name string) ([]Item, error) {
	var items []Item
	ids := map[string]int{}
	err := jsonl.EachNamed(r, name, func(line int, raw []byte) error {
		var it Item
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&it); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if err := it.validate(); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", name, line, it.ID, err)
		}
		if first, dup := ids[it.ID]; dup {
			return fmt.Errorf("%s:%d: id %q already used on line %d", name, line, it.ID, first)
		}
		ids[it.ID] = line
		items = append(items, it)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s: no items", name)
	}
	return items, nil
}

func (it *Item) validate() error {
	switch {
	case it.ID == "":
		return errors.New("missing id")
	case (it.Text == "") == (it.Messages == nil):
		return errors.New(`want exactly one of "text" and "messages"`)
	case it.Level < None || it.Level > High:
		return fmt.Errorf("invalid level %d", it.Level)
	}
	if it.Messages != nil {
		if err := checkMessages(it.Messages); err != nil {
			return err
		}
	}
	for _, c := range it.Categories {
		if _, err := ParseCategory(string(c)); err != nil {
			return err
		}
		if c == CrisisLanguage {
			return fmt.Errorf("category %s is the learned screen's own, not a label", c)
		}
	}
	if (it.Level == None) != (len(it.Categories) == 0) {
		return errors.New("a level other than none needs categories, and none takes none")
	}
	switch it.Subject {
	case "":
		if it.Level != None {
			return errors.New("a level other than none needs a subject")
		}
	case Self, ThirdParty:
		if it.Level == None {
			return errors.New("level none takes no subject")
		}
	default:
		return fmt.Errorf("unknown subject %q (want self or third_party)", it.Subject)
	}
	return nil
}

// checkMessages requires known roles and at least one user turn.
func checkMessages(msgs []data.Message) error {
	user := false
	for i, m := range msgs {
		switch m.Role {
		case data.RoleUser:
			user = true
		case data.RoleAssistant, data.RoleSystem:
		default:
			return fmt.Errorf("message %d: unknown role %q (want user, assistant or system)", i+1, m.Role)
		}
	}
	if !user {
		return errors.New("no user message")
	}
	return nil
}

// FindSetDir locates datasets/safety: inside dataDir when given (a
// datasets directory or a repository root), else where data.FindDataDir
// finds the datasets.
func FindSetDir(dataDir string) (string, error) {
	first := Parts[0] + ".jsonl"
	if dataDir != "" {
		for _, d := range []string{filepath.Join(dataDir, SetDir), filepath.Join(dataDir, "datasets", SetDir)} {
			if _, err := os.Stat(filepath.Join(d, first)); err == nil {
				return d, nil
			}
		}
		return "", fmt.Errorf("%s: no %s/%s", dataDir, SetDir, first)
	}
	datasets, err := data.FindDataDir("")
	if err != nil {
		return "", err
	}
	d := filepath.Join(datasets, SetDir)
	if _, err := os.Stat(filepath.Join(d, first)); err != nil {
		return "", fmt.Errorf("no labelled safety set in %s: %w", datasets, err)
	}
	return d, nil
}

// LoadShipped loads parts of the shipped set (Parts) from dir.
func LoadShipped(dir string, parts ...string) (map[string][]Item, error) {
	out := map[string][]Item{}
	for _, p := range parts {
		if !slices.Contains(Parts, p) {
			return nil, fmt.Errorf("unknown part %q (want one of %s)", p, strings.Join(Parts, ", "))
		}
		items, err := LoadLabelled(filepath.Join(dir, p+".jsonl"))
		if err != nil {
			return nil, err
		}
		out[p] = items
	}
	return out, nil
}
