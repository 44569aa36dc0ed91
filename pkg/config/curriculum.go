package config

import (
	"math"
	"regexp"
)

// Curriculum configures the phased SFT path from CounselChat to AnnoMI
// (curriculum.yaml).
type Curriculum struct {
	// TargetDatasetSize is the number of examples drawn over all phases;
	// phases with a Share take Share × TargetDatasetSize of them.
	TargetDatasetSize int `yaml:"target_dataset_size"`
	// OptimizerState between phases: "reset" (fresh AdamW moments) or
	// "carry" (the moments and update count of the previous phase's final
	// checkpoint). The adapter always carries over; the learning-rate
	// schedule always starts afresh.
	OptimizerState  string  `yaml:"optimizer_state"`
	RunDPOAfter     bool    `yaml:"run_dpo_after"`
	MergeFinalModel bool    `yaml:"merge_final_model"`
	Phases          []Phase `yaml:"phases"`
}

// Phase is one stage of the curriculum.
type Phase struct {
	// Name identifies the phase in logs and names its run sub-directory.
	Name string `yaml:"name"`
	Mix  Mix    `yaml:"mix"`
	// LearningRate is the phase's peak learning rate.
	LearningRate float64 `yaml:"learning_rate"`
	// Size is a fixed number of examples; 0 means Share × TargetDatasetSize.
	Size  int     `yaml:"size,omitempty"`
	Share float64 `yaml:"share,omitempty"`
	// Epochs over the phase's examples.
	Epochs int `yaml:"epochs"`
	// AnnoMIQuality filters the phase's AnnoMI examples ("all", "high",
	// "low"); "" uses data.yaml's annomi.quality_filter.
	AnnoMIQuality string `yaml:"annomi_quality"`
}

// Mix is the percentage of each corpus in a phase; the two sum to 100.
type Mix struct {
	CounselChat int `yaml:"counselchat"`
	AnnoMI      int `yaml:"annomi"`
}

// Optimizer-state policies between curriculum phases.
const (
	OptimizerReset = "reset"
	OptimizerCarry = "carry"
)

// DefaultCurriculum returns the values of the shipped curriculum.yaml: five
// phases of equal share, 100:0 → 0:100 CounselChat:AnnoMI, learning rates
// 1e-4 → 2e-5.
func DefaultCurriculum() Curriculum {
	phase := func(name string, cc, am int, lr float64) Phase {
		return Phase{Name: name, Mix: Mix{CounselChat: cc, AnnoMI: am}, LearningRate: lr, Share: 0.2, Epochs: 1}
	}
	return Curriculum{
		TargetDatasetSize: 5000,
		OptimizerState:    OptimizerReset,
		RunDPOAfter:       true,
		MergeFinalModel:   true,
		Phases: []Phase{
			phase("counselchat_foundation", 100, 0, 1e-4),
			phase("early_mi_blend", 80, 20, 8e-5),
			phase("balanced_blend", 60, 40, 6e-5),
			phase("mi_focused_blend", 40, 60, 4e-5),
			phase("mi_mastery", 0, 100, 2e-5),
		},
	}
}

// PhaseSize is the number of examples phase i draws from a curriculum of
// targetSize examples (TargetDatasetSize, or the debug size).
func (c Curriculum) PhaseSize(i, targetSize int) int {
	p := c.Phases[i]
	if p.Size > 0 {
		return p.Size
	}
	return int(math.Round(p.Share * float64(targetSize)))
}

// phaseName keeps names usable as directory names.
var phaseName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// shareTolerance absorbs decimal rounding such as 3 × 0.333….
const shareTolerance = 1e-6

// Validate checks ranges and cross-field rules.
func (c Curriculum) Validate() error { return runCheck(c.check) }

func (c Curriculum) check(ch *checker) {
	c.checkTop(ch)
	if len(c.Phases) == 0 {
		ch.errorf("phases", "must list at least one phase")
		return
	}
	names := map[string]int{}
	shares, sharePhases := 0.0, 0
	for i, p := range c.Phases {
		key := "phases." + itoa(i)
		if !phaseName.MatchString(p.Name) {
			ch.errorf(key+".name", "must be 1-64 letters, digits, '_', '.', '-' (it names a directory), got %q", p.Name)
		} else if j, dup := names[p.Name]; dup {
			ch.errorf(key+".name", "%q is also the name of phase %d", p.Name, j)
		}
		names[p.Name] = i
		p.checkMix(ch, key)
		checkLearningRate(ch, key+".learning_rate", p.LearningRate)
		ch.positiveInt(key+".epochs", p.Epochs)
		if p.AnnoMIQuality != "" {
			ch.oneOf(key+".annomi_quality", p.AnnoMIQuality, QualityAll, QualityHigh, QualityLow)
		}
		switch {
		case p.Size < 0:
			ch.errorf(key+".size", "must be ≥ 0, got %d", p.Size)
		case !finite(p.Share) || p.Share < 0 || p.Share > 1:
			ch.errorf(key+".share", "must be in [0, 1], got %v", p.Share)
		case p.Size > 0 && p.Share > 0:
			ch.errorf(key, "set size or share, not both (size %d, share %v)", p.Size, p.Share)
		case p.Size == 0 && p.Share == 0:
			ch.errorf(key, "set size (examples) or share (of target_dataset_size)")
		case p.Share > 0:
			shares += p.Share
			sharePhases++
		}
	}
	switch {
	case sharePhases == len(c.Phases) && math.Abs(shares-1) > shareTolerance:
		ch.errorf("phases", "shares must sum to 1 when every phase uses one, got %.6g", shares)
	case shares > 1+shareTolerance:
		ch.errorf("phases", "shares sum to %.6g, more than 1", shares)
	}
	if sharePhases > 0 && c.TargetDatasetSize <= 0 {
		ch.errorf("target_dataset_size", "must be > 0 when a phase uses a share, got %d", c.TargetDatasetSize)
	}
}

func (c Curriculum) checkTop(ch *checker) {
	ch.nonNegativeInt("target_dataset_size", c.TargetDatasetSize)
	ch.oneOf("optimizer_state", c.OptimizerState, OptimizerReset, OptimizerCarry)
}

func (p Phase) checkMix(ch *checker, key string) {
	m := p.Mix
	if m.CounselChat < 0 || m.CounselChat > 100 {
		ch.errorf(key+".mix.counselchat", "must be a percentage in [0, 100], got %d", m.CounselChat)
	}
	if m.AnnoMI < 0 || m.AnnoMI > 100 {
		ch.errorf(key+".mix.annomi", "must be a percentage in [0, 100], got %d", m.AnnoMI)
	}
	if m.CounselChat+m.AnnoMI != 100 {
		ch.errorf(key+".mix", "counselchat + annomi must be 100, got %d + %d = %d", m.CounselChat, m.AnnoMI, m.CounselChat+m.AnnoMI)
	}
}
