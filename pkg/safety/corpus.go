package safety

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

// TopicCount is how many texts of one topic the screen flags.
type TopicCount struct {
	Topic   string `json:"topic"`
	Total   int    `json:"total"`
	Concern int    `json:"concern"`
	High    int    `json:"high"`
}

// Flagged returns Concern + High.
func (t TopicCount) Flagged() int { return t.Concern + t.High }

// SourceScan counts the texts of one corpus that the screen flags.
type SourceScan struct {
	Source string `json:"source"`
	// Unit says what one text is ("question", "client turn").
	Unit       string         `json:"unit"`
	Total      int            `json:"total"`
	Concern    int            `json:"concern"`
	High       int            `json:"high"`
	ThirdParty int            `json:"third_party"` // flagged texts about someone else
	ByCategory map[string]int `json:"by_category"`
	// ByTopic is ordered by flagged texts, most first.
	ByTopic []TopicCount `json:"by_topic"`
}

// FlaggedText is one flagged corpus text, for reading.
type FlaggedText struct {
	Source      string     `json:"source"`
	ID          string     `json:"id"`
	Topic       string     `json:"topic"`
	Level       Level      `json:"level"`
	Categories  []Category `json:"categories"`
	Subject     Subject    `json:"subject"`
	Text        string     `json:"text"`
	Evidence    []Evidence `json:"evidence"`
	Explanation string     `json:"explanation"`
}

// CorpusScan is the screen run over the training corpora: how many
// CounselChat questions (by topic) and AnnoMI client turns it flags, and
// a sample of them.
type CorpusScan struct {
	CounselChat SourceScan    `json:"counselchat"`
	AnnoMI      SourceScan    `json:"annomi"`
	Sample      []FlaggedText `json:"sample"`
}

// ScanCorpus screens every CounselChat question (title and text, as the
// model sees it) and the AnnoMI client turns (consecutive client
// utterances merged) of the transcripts the learned screen was not trained
// on (TrainsOnTranscript), and keeps sample flagged texts per source, High
// ones first, spread over the corpus. Either corpus may be nil.
func ScanCorpus(cc *data.CounselChat, anno *data.AnnoMI, sample int) *CorpusScan {
	scan := &CorpusScan{}
	var ccFlagged, annoFlagged []FlaggedText
	if cc != nil {
		texts := make([]corpusText, 0, len(cc.Questions))
		for _, q := range cc.Questions {
			texts = append(texts, corpusText{id: strconv.Itoa(q.ID), topic: q.Topic, text: q.Prompt()})
		}
		scan.CounselChat, ccFlagged = scanTexts(data.SourceCounselChat, "question", texts)
	}
	if anno != nil {
		var texts []corpusText
		for _, t := range anno.Transcripts {
			if TrainsOnTranscript(t.ID) {
				continue
			}
			for _, turn := range t.Turns() {
				if turn.Speaker == data.SpeakerClient {
					texts = append(texts, corpusText{id: fmt.Sprintf("%d:%d", t.ID, turn.FirstID), topic: t.Topic, text: turn.Text})
				}
			}
		}
		scan.AnnoMI, annoFlagged = scanTexts(data.SourceAnnoMI, "held-out client turn", texts)
	}
	scan.Sample = append(pickSample(ccFlagged, sample), pickSample(annoFlagged, sample)...)
	if scan.Sample == nil {
		scan.Sample = []FlaggedText{}
	}
	return scan
}

type corpusText struct{ id, topic, text string }

func scanTexts(source, unit string, texts []corpusText) (SourceScan, []FlaggedText) {
	s := SourceScan{Source: source, Unit: unit, ByCategory: map[string]int{}}
	topics := map[string]*TopicCount{}
	var flagged []FlaggedText
	for _, t := range texts {
		res := Screen(t.text)
		s.Total++
		tc := topics[t.topic]
		if tc == nil {
			tc = &TopicCount{Topic: t.topic}
			topics[t.topic] = tc
		}
		tc.Total++
		switch res.Level {
		case Concern:
			s.Concern++
			tc.Concern++
		case High:
			s.High++
			tc.High++
		}
		if res.Level == None {
			continue
		}
		if res.Subject == ThirdParty {
			s.ThirdParty++
		}
		for _, c := range res.Categories {
			s.ByCategory[string(c)]++
		}
		flagged = append(flagged, FlaggedText{Source: source, ID: t.id, Topic: t.topic, Level: res.Level,
			Categories: res.Categories, Subject: res.Subject, Text: t.text, Evidence: res.Evidence,
			Explanation: res.Explanation})
	}
	for _, tc := range topics {
		s.ByTopic = append(s.ByTopic, *tc)
	}
	sort.Slice(s.ByTopic, func(i, j int) bool {
		a, b := s.ByTopic[i], s.ByTopic[j]
		if a.Flagged() != b.Flagged() {
			return a.Flagged() > b.Flagged()
		}
		return a.Topic < b.Topic
	})
	return s, flagged
}

// pickSample keeps n flagged texts: High ones first, each level's picks
// spread evenly over the corpus order.
func pickSample(flagged []FlaggedText, n int) []FlaggedText {
	if n <= 0 || len(flagged) == 0 {
		return nil
	}
	var high, concern []FlaggedText
	for _, f := range flagged {
		if f.Level == High {
			high = append(high, f)
		} else {
			concern = append(concern, f)
		}
	}
	nHigh := min(len(high), (n+1)/2)
	nConcern := min(len(concern), n-nHigh)
	nHigh = min(len(high), n-nConcern)
	return append(spread(high, nHigh), spread(concern, nConcern)...)
}

func spread(xs []FlaggedText, n int) []FlaggedText {
	if n >= len(xs) {
		return xs
	}
	out := make([]FlaggedText, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, xs[i*len(xs)/n])
	}
	return out
}

// WriteText prints the scan: counts per source, the CounselChat topics
// with flagged questions, and the sample with its evidence.
func (s *CorpusScan) WriteText(w io.Writer) error {
	for _, src := range []SourceScan{s.CounselChat, s.AnnoMI} {
		if src.Total == 0 {
			continue
		}
		fmt.Fprintf(w, "%s: %d %ss, %d flagged (%.1f%%): %d concern, %d high; %d about someone else\n",
			src.Source, src.Total, src.Unit, src.Concern+src.High, pct(src.Concern+src.High, src.Total),
			src.Concern, src.High, src.ThirdParty)
		var cats []string
		for _, c := range Categories {
			if n := src.ByCategory[string(c)]; n > 0 {
				cats = append(cats, fmt.Sprintf("%s %d", c, n))
			}
		}
		if len(cats) > 0 {
			fmt.Fprintf(w, "  categories: %s\n", strings.Join(cats, ", "))
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  topic\ttexts\tconcern\thigh\t")
		for _, t := range src.ByTopic {
			if t.Flagged() == 0 {
				continue
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t\n", t.Topic, t.Total, t.Concern, t.High)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	if len(s.Sample) > 0 {
		fmt.Fprintf(w, "sample of flagged texts (%d)\n", len(s.Sample))
	}
	for _, f := range s.Sample {
		fmt.Fprintf(w, "- %s %s [%s] %s %v: %s\n", f.Source, f.ID, f.Topic, f.Level, f.Categories, excerpt(f.Text, f.Evidence))
		fmt.Fprintf(w, "    %s\n", f.Explanation)
	}
	return nil
}

func pct(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(n) / float64(total)
}

// excerpt shortens a long text to the part around its first evidence.
func excerpt(text string, ev []Evidence) string {
	const width = 240
	text = strings.Join(strings.Fields(text), " ")
	if len(text) <= width {
		return text
	}
	start := 0
	if len(ev) > 0 {
		// Offsets are of the original text; after folding white space they
		// are close enough to centre the excerpt.
		start = max(0, min(ev[0].Start-width/3, len(text)-width))
	}
	for start > 0 && !utf8Start(text[start]) {
		start--
	}
	end := min(len(text), start+width)
	for end < len(text) && !utf8Start(text[end]) {
		end++
	}
	out := text[start:end]
	if start > 0 {
		out = "…" + out
	}
	if end < len(text) {
		out += "…"
	}
	return out
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
