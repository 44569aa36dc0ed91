package curriculum

import (
	"errors"
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/chat"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/export"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/stage"
)

// SampleClientMessage is the client turn of the test generation of a
// merged model.
const SampleClientMessage = "I know I should cut down on drinking, but it's the only thing that helps me relax after work."

// Reply is a generated counsellor turn.
type Reply struct {
	Prompt   string  // the rendered chat prompt
	Text     string  // the reply, special tokens left out
	IDs      []int32 // the generated ids, the stop id included when there was one
	Stopped  bool    // the model ended its turn before MaxNewTokens
	Template string  // the tokenizer used
}

// SampleReply loads a model directory (a merged model) with its tokenizer
// (the directory's, else the embedded one for its vocabulary size) and
// greedily generates the counsellor's reply to one client message through
// the Gemma chat template. b nil uses stage.NewBackend("").
func SampleReply(dir, message string, maxNewTokens int, b compute.Backend) (*Reply, error) {
	if maxNewTokens < 1 {
		return nil, fmt.Errorf("max new tokens %d must be ≥ 1", maxNewTokens)
	}
	if message == "" {
		return nil, errors.New("no client message")
	}
	cfg, err := gemma3n.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	tok, err := (&export.Base{Path: dir, Config: cfg}).Tokenizer()
	if err != nil {
		return nil, err
	}
	dtype, err := stage.ParseDType(cfg.TorchDType)
	if err != nil {
		dtype = dtypes.Float32 // float16 and unset weights are read as float32
	}
	m, err := gemma3n.Load(dir, dtype)
	if err != nil {
		return nil, err
	}
	prompt, err := chat.Tokenize(tok, []data.Message{{Role: data.RoleUser, Content: message}}, true)
	if err != nil {
		return nil, err
	}
	if b == nil {
		if b, err = stage.NewBackend(""); err != nil {
			return nil, err
		}
	}
	out, err := m.Generate(b, [][]int32{prompt.IDs}, gemma3n.GenerateOptions{MaxNewTokens: maxNewTokens})
	if err != nil {
		return nil, err
	}
	ids := out[0]
	r := &Reply{Prompt: prompt.Text, IDs: ids, Text: tok.Decode(ids, true), Template: tok.Name()}
	if len(ids) > 0 && cfg.IsEOS(int(ids[len(ids)-1])) {
		r.Stopped = true
	}
	return r, nil
}
