package curriculum

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/export"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
)

func TestSampleReply(t *testing.T) {
	m, err := gemma3n.Open("tiny", dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	a, err := lora.New(m, lora.Config{R: 2, Alpha: 4, TargetModules: []string{"q_proj"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	adapter := filepath.Join(t.TempDir(), "adapter")
	if err := a.Save(adapter); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "merged")
	if _, err := export.Merge(t.Context(), export.MergeOptions{Model: "tiny", Adapter: adapter, Out: out, Logger: testutil.QuietLogger()}); err != nil {
		t.Fatal(err)
	}
	reply, err := SampleReply(out, SampleClientMessage, 5, testutil.Backend(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(reply.IDs) == 0 || len(reply.IDs) > 5 || !strings.Contains(reply.Prompt, SampleClientMessage) || !strings.HasSuffix(reply.Prompt, "<start_of_turn>model\n") {
		t.Errorf("reply %+v", reply)
	}
	if _, err := SampleReply(out, "", 5, nil); err == nil {
		t.Error("an empty message was accepted")
	}
}
