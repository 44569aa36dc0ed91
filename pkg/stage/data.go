package stage

import (
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

// ShippedCorpus loads the shipped corpora (AnnoMI and CounselChat) at
// data.yaml's paths.
func ShippedCorpus(cfg *config.All) (*data.Corpus, error) {
	d := cfg.Data
	anno, err := data.LoadAnnoMI(cfg.Path(d.AnnoMI.Path), cfg.Path(d.AnnoMI.FullPath))
	if err != nil {
		return nil, err
	}
	cc, err := data.LoadCounselChat(cfg.Path(d.CounselChat.Path))
	if err != nil {
		return nil, err
	}
	return &data.Corpus{AnnoMI: anno, CounselChat: cc}, nil
}

// PrepareOptions are data.yaml's settings for data.Corpus.Prepare: the
// seed, the split ratios, the AnnoMI windows and quality filter and, with
// debug, the debug subset sizes.
func PrepareOptions(cfg *config.All, debug bool) data.Options {
	d := cfg.Data
	opts := data.DefaultOptions()
	opts.Seed = uint64(d.Seed)
	opts.Ratios = SplitRatios(cfg)
	opts.Window = data.WindowOptions{ContextTurns: d.AnnoMI.ContextTurns}
	opts.Quality = d.AnnoMI.QualityFilter
	if debug {
		opts.Debug = DebugSizes(cfg)
	}
	return opts
}

// SplitRatios are data.yaml's train, validation and test fractions.
func SplitRatios(cfg *config.All) data.SplitRatios {
	s := cfg.Data.Splits
	return data.SplitRatios{Train: s.Train, Validation: s.Validation, Test: s.Test}
}

// DebugSizes are data.yaml's debug subset sizes.
func DebugSizes(cfg *config.All) data.DebugSizes {
	return data.DebugSizes{
		CounselChatQuestions: cfg.Data.Debug.CounselChatQuestions,
		AnnoMITranscripts:    cfg.Data.Debug.AnnoMITranscripts,
	}
}

// PrepareShipped loads the shipped corpora and cuts them into splits as
// data.yaml says (PrepareOptions).
func PrepareShipped(cfg *config.All, debug bool) (*data.Prepared, error) {
	corpus, err := ShippedCorpus(cfg)
	if err != nil {
		return nil, err
	}
	return corpus.Prepare(PrepareOptions(cfg, debug))
}
