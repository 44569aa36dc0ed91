package safety

import (
	"fmt"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

// Overview is the screen's evaluation on every part of the labelled set
// and on all of them together, and its scan of the training corpora: what
// notebook 05 shows.
type Overview struct {
	// Parts holds one report per part, in the order of PartNames.
	Parts     []*Report   `json:"parts"`
	PartNames []string    `json:"part_names"`
	All       *Report     `json:"all"`
	Corpus    *CorpusScan `json:"corpus"`
}

// LoadOverview evaluates the screen on the shipped labelled set and scans
// the shipped corpora, keeping sample flagged texts per corpus. dataDir is
// a datasets directory or repository root ("" finds it as
// data.FindDataDir does).
func LoadOverview(dataDir string, sample int) (*Overview, error) {
	setDir, err := FindSetDir(dataDir)
	if err != nil {
		return nil, err
	}
	sets, err := LoadShipped(setDir, Parts...)
	if err != nil {
		return nil, err
	}
	o := &Overview{PartNames: Parts}
	var all []Item
	for _, p := range Parts {
		o.Parts = append(o.Parts, Evaluate(p, sets[p]))
		all = append(all, sets[p]...)
	}
	o.All = Evaluate("all", all)

	datasets, err := data.FindDataDir(dataDir)
	if err != nil {
		return nil, err
	}
	paths := data.PathsIn(datasets)
	cc, err := data.LoadCounselChat(paths.CounselChat)
	if err != nil {
		return nil, fmt.Errorf("counselchat: %w", err)
	}
	anno, err := data.LoadAnnoMI(paths.AnnoMISimple, "")
	if err != nil {
		return nil, fmt.Errorf("annomi: %w", err)
	}
	o.Corpus = ScanCorpus(cc, anno, sample)
	return o, nil
}
