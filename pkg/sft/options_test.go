package sft

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/tokenizer"
)

func TestResolveConfig(t *testing.T) {
	tests := []struct {
		name  string
		opts  Options
		check func(t *testing.T, c *config.All)
		err   string
	}{
		{
			name: "files",
			opts: Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir}},
			check: func(t *testing.T, c *config.All) {
				if c.Model.MaxSeqLength != 2048 || c.Training.MaxSteps != 0 || stage.ModelDType(c) != config.DTypeBFloat16 {
					t.Errorf("max_seq_length %d, max_steps %d, dtype %s", c.Model.MaxSeqLength, c.Training.MaxSteps, stage.ModelDType(c))
				}
			},
		},
		{
			name: "named fields",
			opts: Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir, Model: "tiny", DType: "float32", Backend: "go", MaxSteps: 7}},
			check: func(t *testing.T, c *config.All) {
				if c.Model.NameOrPath != "tiny" || c.Model.DType != "float32" || c.Training.BF16 || c.Model.Backend != "go" || c.Training.MaxSteps != 7 {
					t.Errorf("model %+v, training max_steps %d bf16 %v", c.Model, c.Training.MaxSteps, c.Training.BF16)
				}
			},
		},
		{
			name: "overrides win over named fields",
			opts: Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir, MaxSteps: 7, Overrides: []string{"training.max_steps=9", "lora.target_modules=q_proj,v_proj"}}},
			check: func(t *testing.T, c *config.All) {
				if c.Training.MaxSteps != 9 || !slices.Equal(c.LoRA.TargetModules, []string{"q_proj", "v_proj"}) {
					t.Errorf("max_steps %d, targets %v", c.Training.MaxSteps, c.LoRA.TargetModules)
				}
			},
		},
		{
			name: "debug",
			opts: Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir, Debug: true}},
			check: func(t *testing.T, c *config.All) {
				if c.Model.MaxSeqLength != 256 || c.DPO.MaxLength != 256 {
					t.Errorf("debug max_seq_length %d, dpo max_length %d", c.Model.MaxSeqLength, c.DPO.MaxLength)
				}
			},
		},
		{
			name: "debug sizes overridden before they apply",
			opts: Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir, Debug: true, Overrides: []string{"data.debug.max_seq_length=48"}}},
			check: func(t *testing.T, c *config.All) {
				if c.Model.MaxSeqLength != 48 || c.Data.Debug.MaxSeqLength != 48 {
					t.Errorf("max_seq_length %d, debug %d", c.Model.MaxSeqLength, c.Data.Debug.MaxSeqLength)
				}
			},
		},
		{
			name: "bfloat16 model in float32 training",
			opts: Options{ConfigOptions: stage.ConfigOptions{ConfigPath: configsDir, Overrides: []string{"training.bf16=false"}}},
			check: func(t *testing.T, c *config.All) {
				if stage.ModelDType(c) != config.DTypeFloat32 {
					t.Errorf("dtype %s, want float32", stage.ModelDType(c))
				}
			},
		},
		{
			name: "the repository's configs without a path",
			opts: Options{},
			check: func(t *testing.T, c *config.All) {
				if !strings.HasSuffix(c.Path(c.Data.AnnoMI.Path), "datasets/annomi/AnnoMI-simple.csv") || c.BaseDir == "" {
					t.Errorf("base dir %q, AnnoMI at %q", c.BaseDir, c.Path(c.Data.AnnoMI.Path))
				}
			},
		},
		{name: "bad dtype", opts: Options{ConfigOptions: stage.ConfigOptions{DType: "float64"}}, err: `dtype "float64"`},
		{name: "negative steps", opts: Options{ConfigOptions: stage.ConfigOptions{MaxSteps: -1}}, err: "max steps -1"},
		{name: "unknown key", opts: Options{ConfigOptions: stage.ConfigOptions{Overrides: []string{"training.epochs=2"}}}, err: `unknown key "training.epochs"`},
		{name: "not an assignment", opts: Options{ConfigOptions: stage.ConfigOptions{Debug: true, Overrides: []string{"training.seed"}}}, err: "want key=value"},
		{name: "invalid value", opts: Options{ConfigOptions: stage.ConfigOptions{Overrides: []string{"lora.r=0"}}}, err: "r"},
		{name: "missing config", opts: Options{ConfigOptions: stage.ConfigOptions{ConfigPath: "no/such/configs"}}, err: "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ResolveConfig(tc.opts)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func conv(source, id, group, split string) data.Conversation {
	return data.Conversation{
		Source: source, ID: id, Group: group, Split: split,
		Messages: []data.Message{{Role: data.RoleUser, Content: "q " + id}, {Role: data.RoleAssistant, Content: "a " + id}},
	}
}

func ids(convs []data.Conversation) []string {
	var out []string
	for _, c := range convs {
		out = append(out, c.Source+":"+c.ID)
	}
	return out
}

func TestSplitConversations(t *testing.T) {
	cfg := config.Default()
	labelled := []data.Conversation{
		conv("counselchat", "1", "q1", "train"), conv("annomi", "2", "t1", "validation"),
		conv("counselchat", "3", "q2", "test"), conv("annomi", "4", "t1", "train"),
	}
	s, err := splitConversations("f.jsonl", labelled, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(s.train); !slices.Equal(got, []string{"counselchat:1", "annomi:4"}) {
		t.Errorf("train %v", got)
	}
	if got := ids(s.validation); !slices.Equal(got, []string{"annomi:2"}) {
		t.Errorf("validation %v", got)
	}

	// Unlabelled: whole groups go to one split, deterministically.
	var unlabelled []data.Conversation
	for i := range 60 {
		unlabelled = append(unlabelled, conv("jsonl", fmt.Sprint(i), fmt.Sprint("g", i/3), ""))
	}
	a, err := splitConversations("f.jsonl", unlabelled, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := splitConversations("f.jsonl", unlabelled, cfg, false)
	if !slices.Equal(ids(a.train), ids(b.train)) || len(a.train) == 0 || len(a.validation) == 0 || len(a.train)+len(a.validation) >= 60 {
		t.Errorf("unlabelled split: %d train, %d validation (of 60, some go to test)", len(a.train), len(a.validation))
	}
	splitOf := map[string]string{}
	for _, c := range append(a.train, a.validation...) {
		if sp, seen := splitOf[c.Group]; seen && sp != c.Split {
			t.Errorf("group %s is in both %s and %s", c.Group, sp, c.Split)
		}
		splitOf[c.Group] = c.Split
	}

	// Debug keeps the first groups of each source.
	cfg.Data.Debug.CounselChatQuestions, cfg.Data.Debug.AnnoMITranscripts = 1, 2
	mixed := []data.Conversation{
		conv("annomi", "a1", "t1", "train"), conv("counselchat", "c1", "q1", "train"), conv("annomi", "a2", "t2", "train"),
		conv("counselchat", "c2", "q1", "train"), conv("annomi", "a3", "t3", "train"), conv("counselchat", "c3", "q2", "train"),
	}
	d, err := splitConversations("f.jsonl", mixed, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(d.train); !slices.Equal(got, []string{"counselchat:c1", "counselchat:c2", "annomi:a1", "annomi:a2"}) {
		t.Errorf("debug subset %v", got)
	}

	errs := []struct {
		name  string
		convs []data.Conversation
		want  string
	}{
		{"empty", nil, "no conversations"},
		{"partly labelled", []data.Conversation{conv("x", "1", "", "train"), conv("x", "2", "", "")}, `conversation 2 (id "2") has no "split"`},
		{"unknown split", []data.Conversation{conv("x", "1", "", "dev")}, `unknown split "dev"`},
		{"no train", []data.Conversation{conv("x", "1", "", "validation")}, "no conversation in the train split"},
	}
	for _, tc := range errs {
		if _, err := splitConversations("f.jsonl", tc.convs, cfg, false); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestBuckets(t *testing.T) {
	tests := []struct {
		max  int
		want []int
	}{
		{32, []int{32}},
		{96, []int{32, 64, 96}},
		{256, []int{32, 64, 128, 256}},
		{2048, []int{256, 512, 1024, 2048}},
		{20, []int{20}},
	}
	for _, tc := range tests {
		if got := Buckets(tc.max); !slices.Equal(got, tc.want) {
			t.Errorf("Buckets(%d) = %v, want %v", tc.max, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}}
	for _, tc := range tests {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestTinyVocabMatchesTinyTokenizer(t *testing.T) {
	if gemma3n.TinyVocabSize != tokenizer.TinyVocabSize {
		t.Fatalf("gemma3n.TinyVocabSize %d != tokenizer.TinyVocabSize %d: the tiny preset and its tokenizer disagree", gemma3n.TinyVocabSize, tokenizer.TinyVocabSize)
	}
}
