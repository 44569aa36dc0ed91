package eval

import "github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"

// SafetyOutcome is the safety gate's decision for one prompt: the screened
// level and categories and what the gate did (no message text).
type SafetyOutcome struct {
	Level      safety.Level      `json:"level"`
	Categories []safety.Category `json:"categories"`
	Action     safety.Action     `json:"action"`
}

// gateResults puts every prompt through the gate. The results the model
// may answer come back, as copies, for generation; the others get the
// gate's referral as their reply and are not generated.
func gateResults(g *safety.Gate, results []ExampleResult) (toModel []ExampleResult, decisions []safety.Decision) {
	decisions = make([]safety.Decision, len(results))
	for i := range results {
		d := g.Check(results[i].Prompt)
		decisions[i] = d
		results[i].Safety = &SafetyOutcome{Level: d.Screen.Level, Categories: d.Screen.Categories, Action: d.Action}
		if d.CallModel() {
			toModel = append(toModel, results[i])
		} else {
			results[i].Generated = d.Referral
		}
	}
	return toModel, decisions
}

// finishGated copies the generated replies back into results (in the
// order of gateResults), with the resource line the gate appends to
// replies to prompts of concern.
func finishGated(results, generated []ExampleResult, decisions []safety.Decision) {
	k := 0
	for i := range results {
		if !decisions[i].CallModel() {
			continue
		}
		results[i] = generated[k]
		results[i].Generated = decisions[i].Finish(results[i].Generated)
		k++
	}
}
