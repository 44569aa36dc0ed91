package data

import (
	"fmt"
	"sync"
)

// Corpus holds both corpora as loaded from a datasets directory.
type Corpus struct {
	Paths       Paths
	AnnoMI      *AnnoMI
	CounselChat *CounselChat
}

// LoadCorpus loads AnnoMI (simple and full) and CounselChat from dir, or
// from FindDataDir's answer when dir is empty. The files are parsed
// concurrently.
func LoadCorpus(dir string) (*Corpus, error) {
	dir, err := FindDataDir(dir)
	if err != nil {
		return nil, err
	}
	c := &Corpus{Paths: PathsIn(dir)}
	var wg sync.WaitGroup
	var annoErr, ccErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		c.AnnoMI, annoErr = LoadAnnoMI(c.Paths.AnnoMISimple, c.Paths.AnnoMIFull)
	}()
	go func() {
		defer wg.Done()
		c.CounselChat, ccErr = LoadCounselChat(c.Paths.CounselChat)
	}()
	wg.Wait()
	if annoErr != nil {
		return nil, annoErr
	}
	if ccErr != nil {
		return nil, ccErr
	}
	return c, nil
}

// Options turn a corpus into training and evaluation sets (data.yaml).
type Options struct {
	Seed    uint64
	Ratios  SplitRatios
	Window  WindowOptions
	Quality string     // AnnoMI quality filter: high, low or all
	Debug   DebugSizes // zero: the full data
	Pairs   PairOptions
}

// DebugSizes make a small, deterministic subset for quick runs: the first
// N groups of each source in each split (so that validation and test stay
// non-empty). Zero keeps a source whole.
type DebugSizes struct {
	CounselChatQuestions int
	AnnoMITranscripts    int
}

// DefaultSeed seeds the splits when nothing else is configured.
const DefaultSeed = 42

// DefaultDebugSizes are the --debug sizes of configs/data.yaml.
func DefaultDebugSizes() DebugSizes {
	return DebugSizes{CounselChatQuestions: 40, AnnoMITranscripts: 6}
}

// DefaultOptions: seed 42, 80/10/10 splits, AnnoMI windows of 6 context
// turns, all qualities, the full data, one strict preference pair per
// question.
func DefaultOptions() Options {
	return Options{
		Seed:    DefaultSeed,
		Ratios:  DefaultSplitRatios(),
		Window:  WindowOptions{ContextTurns: DefaultContextTurns},
		Quality: QualityAll,
		Pairs:   PairOptions{TieBreak: TieBreakFirst},
	}
}

// Set is one split of both corpora.
type Set struct {
	CounselChat []Conversation
	AnnoMI      []Conversation
	Pairs       []PreferencePair // CounselChat preference pairs
}

// Prepared is a corpus cut into splits.
type Prepared struct {
	Options           Options
	AnnoMISplits      Assignment // transcript ID → split
	CounselChatSplits Assignment // question ID → split
	Sets              map[Split]*Set
}

// Prepare builds conversations and preference pairs, assigns every group to
// a split (before the quality filter, so a transcript's split never depends
// on the filter), then applies the quality filter and the debug subset.
// Each conversation's Split field is set.
func (c *Corpus) Prepare(opts Options) (*Prepared, error) {
	if c.AnnoMI == nil || c.CounselChat == nil {
		return nil, fmt.Errorf("prepare: corpus lacks AnnoMI or CounselChat")
	}
	quality, err := ParseQuality(opts.Quality)
	if err != nil {
		return nil, err
	}
	p := &Prepared{Options: opts, Sets: map[Split]*Set{}}
	if p.AnnoMISplits, err = AnnoMISplits(c.AnnoMI, opts.Ratios, opts.Seed); err != nil {
		return nil, err
	}
	if p.CounselChatSplits, err = CounselChatSplits(c.CounselChat, opts.Ratios, opts.Seed); err != nil {
		return nil, err
	}
	pairs, err := PreferencePairs(c.CounselChat, opts.Pairs)
	if err != nil {
		return nil, err
	}
	anno := AnnoMIConversations(c.AnnoMI, opts.Window)
	cc := CounselChatConversations(c.CounselChat)
	for _, sp := range Splits {
		s := &Set{
			CounselChat: FirstGroups(SelectSplit(cc, p.CounselChatSplits, sp), opts.Debug.CounselChatQuestions),
			AnnoMI:      FirstGroups(FilterQuality(SelectSplit(anno, p.AnnoMISplits, sp), quality), opts.Debug.AnnoMITranscripts),
			Pairs:       FirstPairGroups(SelectPairSplit(pairs, p.CounselChatSplits, sp), opts.Debug.CounselChatQuestions),
		}
		for _, convs := range [][]Conversation{s.CounselChat, s.AnnoMI} {
			for i := range convs {
				convs[i].Split = string(sp)
			}
		}
		p.Sets[sp] = s
	}
	return p, nil
}

// All selects the argument value meaning every source or every split.
const All = "all"

// Conversations returns the conversations of one source (counselchat,
// annomi or all) and one split (train, validation, test or all): all
// sources in that order, and splits in the order train, validation, test.
func (p *Prepared) Conversations(source, split string) ([]Conversation, error) {
	if source != All && source != SourceCounselChat && source != SourceAnnoMI {
		return nil, fmt.Errorf("unknown source %q (want counselchat, annomi or all)", source)
	}
	splits := Splits
	if split != All {
		sp, err := ParseSplit(split)
		if err != nil {
			return nil, err
		}
		splits = []Split{sp}
	}
	var out []Conversation
	for _, src := range []string{SourceCounselChat, SourceAnnoMI} {
		if source != All && source != src {
			continue
		}
		for _, sp := range splits {
			if src == SourceCounselChat {
				out = append(out, p.Sets[sp].CounselChat...)
			} else {
				out = append(out, p.Sets[sp].AnnoMI...)
			}
		}
	}
	return out, nil
}

// ExportOptions select what Export writes.
type ExportOptions struct {
	Options
	Source     string // counselchat, annomi or all
	Split      string // train, validation, test or all
	WritePairs bool   // write CounselChat preference pairs instead of conversations
}

// ExportSummary tells what Export wrote.
type ExportSummary struct {
	Path    string         `json:"path"`
	Counts  map[string]int `json:"counts"` // conversations per source, or pairs under "pairs"
	Records int            `json:"records"`
}

// Export prepares the corpus and writes the selected conversations (or
// preference pairs) as JSON lines to path, atomically.
func (c *Corpus) Export(path string, opts ExportOptions) (ExportSummary, error) {
	sum := ExportSummary{Path: path, Counts: map[string]int{}}
	p, err := c.Prepare(opts.Options)
	if err != nil {
		return sum, err
	}
	convs, err := p.Conversations(opts.Source, opts.Split)
	if err != nil {
		return sum, err
	}
	if !opts.WritePairs {
		for _, cv := range convs {
			sum.Counts[cv.Source]++
		}
		sum.Records = len(convs)
		return sum, WriteJSONL(path, convs)
	}
	if opts.Source == SourceAnnoMI {
		return sum, fmt.Errorf("preference pairs come from CounselChat only, not %q", opts.Source)
	}
	var pairs []PreferencePair
	for _, sp := range Splits {
		if opts.Split == All || opts.Split == string(sp) {
			pairs = append(pairs, p.Sets[sp].Pairs...)
		}
	}
	sum.Counts["pairs"], sum.Records = len(pairs), len(pairs)
	return sum, WriteJSONL(path, pairs)
}
