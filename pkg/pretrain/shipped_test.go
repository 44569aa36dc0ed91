package pretrain

import (
	"errors"
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
)

// TestShippedMini checks the embedded default model against its card: the
// architecture, the model card rendered from card.json, the losses of the
// card (the targets), and the weights, by measuring the card's
// quick validation losses again on them.
func TestShippedMini(t *testing.T) {
	m, err := gemma3n.Open(gemma3n.MiniName, dtypes.Float32)
	if errors.Is(err, gemma3n.ErrNoPretrainedWeights) {
		t.Skip("this build has no mini weights (make pretrain)")
	}
	if err != nil {
		t.Fatal(err)
	}
	raw, err := gemma3n.PretrainedFile(gemma3n.MiniName, CardFileName)
	if err != nil {
		t.Fatal(err)
	}
	card, err := ParseCard("embedded "+CardFileName, raw)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := gemma3n.Preset(gemma3n.MiniName)
	if err := gemma3n.SameArchitecture(want, card.Config); err != nil {
		t.Errorf("the card describes another architecture: %v", err)
	}
	if card.Parameters != want.NumParameters() || card.WeightsDType != "bfloat16" || card.Preset != gemma3n.MiniName {
		t.Errorf("card: %d parameters (preset: %d), weights %s, preset %q", card.Parameters, want.NumParameters(), card.WeightsDType, card.Preset)
	}
	readme, err := gemma3n.PretrainedFile(gemma3n.MiniName, ReadmeFileName)
	if err != nil || string(readme) != card.Render() {
		t.Errorf("the embedded README.md is not the card rendered from card.json (edit card.json, or ship again): %v", err)
	}
	random := math.Log(float64(want.VocabSize))
	for _, split := range []string{"validation", "test"} {
		for _, source := range []string{"counselchat", "annomi"} {
			loss := card.Loss(split, source)
			if !(loss < random-4) {
				t.Errorf("%s %s loss %.3f: want far below a uniform guess (%.2f)", split, source, loss, random)
			}
		}
	}
	if loss := card.Loss("validation", "annomi"); !(loss <= 4.0) {
		t.Errorf("AnnoMI validation loss %.3f, the target is ≤ 4.0", loss)
	}
	if card.Reproduction == nil || !card.Reproduction.Passed {
		t.Errorf("the card records no passed reproduction check (make pretrain-check): %+v", card.Reproduction)
	}
	if testing.Short() {
		return
	}
	checkQuick(t, card, m)
}
