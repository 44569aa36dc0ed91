package config

import (
	"math"
	"strings"
)

// Data configures the corpora, splits and debug subsets (data.yaml).
type Data struct {
	CounselChat CounselChatData `yaml:"counselchat"`
	AnnoMI      AnnoMIData      `yaml:"annomi"`
	Splits      Splits          `yaml:"splits"`
	// Seed of the splits, the debug subsets and the mixing sampler.
	Seed  int64 `yaml:"seed"`
	Debug Debug `yaml:"debug"`
}

// CounselChatData locates the CounselChat CSV.
type CounselChatData struct {
	Path string `yaml:"path"`
}

// AnnoMIData locates the AnnoMI CSVs and shapes its conversations.
type AnnoMIData struct {
	// Path is AnnoMI-simple.csv; FullPath is AnnoMI-full.csv, which adds the
	// finer labels ("" skips them).
	Path     string `yaml:"path"`
	FullPath string `yaml:"full_path"`
	// QualityFilter keeps transcripts of this MI quality: "all", "high", "low".
	QualityFilter string `yaml:"quality_filter"`
	// ContextTurns is the number of merged turns kept before each target
	// therapist turn.
	ContextTurns int `yaml:"context_turns"`
}

// Splits are the fractions of groups (transcripts, questions) per split.
type Splits struct {
	Train      float64 `yaml:"train"`
	Validation float64 `yaml:"validation"`
	Test       float64 `yaml:"test"`
}

// Debug sizes the --debug subsets.
type Debug struct {
	CounselChatQuestions int `yaml:"counselchat_questions"`
	AnnoMITranscripts    int `yaml:"annomi_transcripts"`
	MaxSeqLength         int `yaml:"max_seq_length"`
	// TargetDatasetSize replaces the curriculum's target_dataset_size.
	TargetDatasetSize int `yaml:"target_dataset_size"`
}

// AnnoMI quality filters.
const (
	QualityAll  = "all"
	QualityHigh = "high"
	QualityLow  = "low"
)

// splitTolerance absorbs decimal rounding of the split fractions.
const splitTolerance = 1e-6

// DefaultData returns the values of the shipped data.yaml.
func DefaultData() Data {
	return Data{
		CounselChat: CounselChatData{Path: "datasets/counselchat/20220401_counsel_chat.csv"},
		AnnoMI: AnnoMIData{
			Path:          "datasets/annomi/AnnoMI-simple.csv",
			FullPath:      "datasets/annomi/AnnoMI-full.csv",
			QualityFilter: QualityHigh,
			ContextTurns:  6,
		},
		Splits: Splits{Train: 0.8, Validation: 0.1, Test: 0.1},
		Seed:   42,
		Debug: Debug{
			CounselChatQuestions: 40,
			AnnoMITranscripts:    6,
			MaxSeqLength:         256,
			TargetDatasetSize:    100,
		},
	}
}

// Validate checks ranges and cross-field rules.
func (d Data) Validate() error { return runCheck(d.check) }

func (d Data) check(c *checker) {
	if strings.TrimSpace(d.CounselChat.Path) == "" {
		c.errorf("counselchat.path", "must name the CounselChat CSV")
	}
	if strings.TrimSpace(d.AnnoMI.Path) == "" {
		c.errorf("annomi.path", "must name AnnoMI-simple.csv")
	}
	c.oneOf("annomi.quality_filter", d.AnnoMI.QualityFilter, QualityAll, QualityHigh, QualityLow)
	c.positiveInt("annomi.context_turns", d.AnnoMI.ContextTurns)

	s := d.Splits
	c.floatIn("splits.train", s.Train, 0, 1, true)
	c.floatIn("splits.validation", s.Validation, 0, 1, true)
	c.floatIn("splits.test", s.Test, 0, 1, true)
	if s.Train == 0 {
		c.errorf("splits.train", "must be > 0")
	}
	if sum := s.Train + s.Validation + s.Test; finite(sum) && math.Abs(sum-1) > splitTolerance {
		c.errorf("splits", "train + validation + test must be 1, got %v + %v + %v = %.6g", s.Train, s.Validation, s.Test, sum)
	}

	c.positiveInt("debug.counselchat_questions", d.Debug.CounselChatQuestions)
	c.positiveInt("debug.annomi_transcripts", d.Debug.AnnoMITranscripts)
	c.positiveInt("debug.max_seq_length", d.Debug.MaxSeqLength)
	c.positiveInt("debug.target_dataset_size", d.Debug.TargetDatasetSize)
}
