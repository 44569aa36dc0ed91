package data

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// AnnoMI label values. The files write "n/a" where a label does not apply;
// the loader stores that as the empty string.
const (
	SpeakerTherapist = "therapist"
	SpeakerClient    = "client"

	QualityHigh = "high"
	QualityLow  = "low"

	BehaviourQuestion       = "question"
	BehaviourReflection     = "reflection"
	BehaviourTherapistInput = "therapist_input"
	BehaviourOther          = "other"

	TalkChange  = "change"
	TalkNeutral = "neutral"
	TalkSustain = "sustain"

	ReflectionSimple  = "simple"
	ReflectionComplex = "complex"
	QuestionOpen      = "open"
	QuestionClosed    = "closed"
	InputInformation  = "information"
	InputAdvice       = "advice"
	InputNegotiation  = "negotiation"
	InputOptions      = "options"

	notApplicable = "n/a"
)

// Label sets, in the order the statistics print them.
var (
	TherapistBehaviours = []string{BehaviourQuestion, BehaviourReflection, BehaviourTherapistInput, BehaviourOther}
	ClientTalkTypes     = []string{TalkChange, TalkNeutral, TalkSustain}
	ReflectionSubtypes  = []string{ReflectionSimple, ReflectionComplex}
	QuestionSubtypes    = []string{QuestionOpen, QuestionClosed}
	InputSubtypes       = []string{InputInformation, InputAdvice, InputNegotiation, InputOptions}
)

// AnnoMI is the AnnoMI corpus: transcripts of motivational-interviewing
// demonstrations with per-utterance expert labels.
type AnnoMI struct {
	Transcripts []Transcript // ordered by ID
	// MultiAnnotated counts the utterances whose fine labels were resolved
	// by a majority vote over several annotations (428 in the shipped file).
	MultiAnnotated int
	// HasFineLabels tells whether the full file was loaded.
	HasFineLabels bool
}

// Transcript is one counselling session.
type Transcript struct {
	ID         int
	Quality    string // QualityHigh or QualityLow: of the whole session
	VideoTitle string
	VideoURL   string
	Topic      string      // raw topic, trimmed; several topics are joined with ";"
	Utterances []Utterance // ordered by Utterance.ID
}

// Utterance is one line of a transcript.
type Utterance struct {
	ID        int    // 0-based position in the transcript
	Speaker   string // SpeakerTherapist or SpeakerClient
	Timestamp string // HH:MM:SS offset in the video, as written (one is malformed upstream)
	Text      string
	Behaviour string // therapist only: one of TherapistBehaviours
	TalkType  string // client only: one of ClientTalkTypes
	Fine      FineLabels
}

// FineLabels are the finer annotations of a therapist utterance from
// AnnoMI-full.csv. For utterances annotated several times each field is
// the majority vote (see voteFine for the rule); subtypes are empty when
// the behaviour is absent.
type FineLabels struct {
	Annotations       int // annotations behind the labels; 0 when the full file was not loaded
	InputExists       bool
	InputSubtype      string // information, advice, negotiation, options
	ReflectionExists  bool
	ReflectionSubtype string // simple, complex
	QuestionExists    bool
	QuestionSubtype   string // open, closed
}

// Topics splits the transcript's topic on ";" into trimmed tags.
func (t *Transcript) Topics() []string {
	var tags []string
	for _, s := range strings.Split(t.Topic, ";") {
		if s = strings.TrimSpace(s); s != "" {
			tags = append(tags, s)
		}
	}
	return tags
}

// Columns read from the two AnnoMI files.
var (
	annoMISimpleColumns = []string{
		"transcript_id", "mi_quality", "video_title", "video_url", "topic", "utterance_id",
		"interlocutor", "timestamp", "utterance_text", "main_therapist_behaviour", "client_talk_type",
	}
	annoMIFullColumns = []string{
		"transcript_id", "mi_quality", "utterance_id", "interlocutor", "utterance_text", "annotator_id",
		"therapist_input_exists", "therapist_input_subtype", "reflection_exists", "reflection_subtype",
		"question_exists", "question_subtype", "main_therapist_behaviour", "client_talk_type",
	}
)

// LoadAnnoMI reads AnnoMI-simple.csv and, when fullPath is not empty,
// AnnoMI-full.csv for the finer labels.
func LoadAnnoMI(simplePath, fullPath string) (*AnnoMI, error) {
	simple, err := os.Open(simplePath)
	if err != nil {
		return nil, err
	}
	defer simple.Close()
	var full io.Reader
	if fullPath != "" {
		f, err := os.Open(fullPath)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		full = f
	}
	return ReadAnnoMI(simple, simplePath, full, fullPath)
}

// ReadAnnoMI parses the simple file and, when full is not nil, attaches the
// finer labels of the full file. Names are used in error messages. Every
// utterance of the full file must be in the simple file with the same
// speaker and text.
func ReadAnnoMI(simple io.Reader, simpleName string, full io.Reader, fullName string) (*AnnoMI, error) {
	a, err := readAnnoMISimple(simple, simpleName)
	if err != nil {
		return nil, err
	}
	if full != nil {
		if err := a.readFull(full, fullName); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// utteranceKey identifies an utterance across the two files.
type utteranceKey struct{ transcript, utterance int }

func readAnnoMISimple(r io.Reader, name string) (*AnnoMI, error) {
	t, err := newTable(r, name, annoMISimpleColumns)
	if err != nil {
		return nil, err
	}
	byID := map[int]*Transcript{}
	firstLine := map[int]int{}     // transcript → line of its first row
	seen := map[utteranceKey]int{} // utterance → line
	for {
		if err := t.next(); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		tid, err := t.int("transcript_id")
		if err != nil {
			return nil, err
		}
		tr, err := transcriptOfRow(t, byID, firstLine, tid)
		if err != nil {
			return nil, err
		}
		u, err := utteranceOfRow(t)
		if err != nil {
			return nil, err
		}
		key := utteranceKey{tid, u.ID}
		if line, dup := seen[key]; dup {
			return nil, t.errorAt("utterance_id", "duplicate utterance %d of transcript %d (first on line %d)", u.ID, tid, line)
		}
		seen[key] = t.line()
		tr.Utterances = append(tr.Utterances, u)
	}
	a := &AnnoMI{Transcripts: make([]Transcript, 0, len(byID))}
	for _, tr := range byID {
		sort.Slice(tr.Utterances, func(i, j int) bool { return tr.Utterances[i].ID < tr.Utterances[j].ID })
		a.Transcripts = append(a.Transcripts, *tr)
	}
	sort.Slice(a.Transcripts, func(i, j int) bool { return a.Transcripts[i].ID < a.Transcripts[j].ID })
	return a, nil
}

// transcriptOfRow returns the transcript of the current row, creating it on
// its first row and checking on later rows that the session-level columns
// do not change within a transcript.
func transcriptOfRow(t *table, byID map[int]*Transcript, firstLine map[int]int, tid int) (*Transcript, error) {
	quality, err := t.oneOf("mi_quality", QualityHigh, QualityLow)
	if err != nil {
		return nil, err
	}
	row := Transcript{ID: tid, Quality: quality, VideoTitle: t.get("video_title"),
		VideoURL: t.get("video_url"), Topic: strings.TrimSpace(t.get("topic"))}
	tr, ok := byID[tid]
	if !ok {
		byID[tid] = &row
		firstLine[tid] = t.line()
		return &row, nil
	}
	for _, c := range []struct{ column, got, want string }{
		{"mi_quality", row.Quality, tr.Quality},
		{"video_title", row.VideoTitle, tr.VideoTitle},
		{"video_url", row.VideoURL, tr.VideoURL},
		{"topic", row.Topic, tr.Topic},
	} {
		if c.got != c.want {
			return nil, t.errorAt(c.column, "%q differs from %q on line %d, within transcript %d", c.got, c.want, firstLine[tid], tid)
		}
	}
	return tr, nil
}

// utteranceOfRow parses the utterance columns of the current simple-file row.
func utteranceOfRow(t *table) (Utterance, error) {
	var u Utterance
	var err error
	if u.ID, err = t.int("utterance_id"); err != nil {
		return u, err
	}
	if u.Speaker, err = t.oneOf("interlocutor", SpeakerTherapist, SpeakerClient); err != nil {
		return u, err
	}
	u.Timestamp = t.get("timestamp")
	u.Text = t.get("utterance_text")
	if strings.TrimSpace(u.Text) == "" {
		return u, t.errorAt("utterance_text", "empty utterance")
	}
	u.Behaviour, u.TalkType, err = speakerLabels(t, u.Speaker, "main_therapist_behaviour", "client_talk_type")
	return u, err
}

// speakerLabels reads the main labels: a therapist row has a behaviour and
// "n/a" as talk type, a client row the other way round.
func speakerLabels(t *table, speaker, behaviourColumn, talkColumn string) (behaviour, talk string, err error) {
	if speaker == SpeakerTherapist {
		if behaviour, err = t.oneOf(behaviourColumn, TherapistBehaviours...); err != nil {
			return "", "", err
		}
		_, err = t.oneOf(talkColumn, notApplicable)
		return behaviour, "", err
	}
	if _, err = t.oneOf(behaviourColumn, notApplicable); err != nil {
		return "", "", err
	}
	talk, err = t.oneOf(talkColumn, ClientTalkTypes...)
	return "", talk, err
}

// annotation is one annotator's fine labels of one utterance.
type annotation struct {
	annotator int
	exists    [3]bool   // input, reflection, question
	subtype   [3]string // "" when absent
	line      int
}

// fineAttributes are the three (exists, subtype) column pairs of the full file.
var fineAttributes = [3]struct {
	exists, subtype string
	values          []string
}{
	{"therapist_input_exists", "therapist_input_subtype", InputSubtypes},
	{"reflection_exists", "reflection_subtype", ReflectionSubtypes},
	{"question_exists", "question_subtype", QuestionSubtypes},
}

// readFull reads AnnoMI-full.csv, checks it against the simple file already
// loaded, and sets the fine labels of every utterance it covers.
func (a *AnnoMI) readFull(r io.Reader, name string) error {
	t, err := newTable(r, name, annoMIFullColumns)
	if err != nil {
		return err
	}
	utterances := map[utteranceKey]*Utterance{}
	quality := map[int]string{}
	for i := range a.Transcripts {
		tr := &a.Transcripts[i]
		quality[tr.ID] = tr.Quality
		for j := range tr.Utterances {
			utterances[utteranceKey{tr.ID, tr.Utterances[j].ID}] = &tr.Utterances[j]
		}
	}
	annotations := map[utteranceKey][]annotation{}
	for {
		if err := t.next(); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		key, u, err := fullRowUtterance(t, utterances, quality)
		if err != nil {
			return err
		}
		ann, err := fullRowAnnotation(t, u.Speaker)
		if err != nil {
			return err
		}
		for _, prev := range annotations[key] {
			if prev.annotator == ann.annotator {
				return t.errorAt("annotator_id", "annotator %d labelled utterance %d of transcript %d twice (first on line %d)",
					ann.annotator, key.utterance, key.transcript, prev.line)
			}
		}
		annotations[key] = append(annotations[key], ann)
	}
	for key, anns := range annotations {
		u := utterances[key]
		u.Fine = voteFine(anns)
		if len(anns) > 1 {
			a.MultiAnnotated++
		}
	}
	a.HasFineLabels = true
	return nil
}

// fullRowUtterance finds the simple-file utterance of the current full-file
// row and checks that both files agree on it.
func fullRowUtterance(t *table, utterances map[utteranceKey]*Utterance, quality map[int]string) (utteranceKey, *Utterance, error) {
	var key utteranceKey
	var err error
	if key.transcript, err = t.int("transcript_id"); err != nil {
		return key, nil, err
	}
	if key.utterance, err = t.int("utterance_id"); err != nil {
		return key, nil, err
	}
	u, ok := utterances[key]
	if !ok {
		return key, nil, t.errorAt("utterance_id", "utterance %d of transcript %d is not in the simple file", key.utterance, key.transcript)
	}
	if q, err := t.oneOf("mi_quality", QualityHigh, QualityLow); err != nil {
		return key, nil, err
	} else if q != quality[key.transcript] {
		return key, nil, t.errorAt("mi_quality", "%q but the simple file says %q for transcript %d", q, quality[key.transcript], key.transcript)
	}
	if s, err := t.oneOf("interlocutor", SpeakerTherapist, SpeakerClient); err != nil {
		return key, nil, err
	} else if s != u.Speaker {
		return key, nil, t.errorAt("interlocutor", "%q but the simple file says %q", s, u.Speaker)
	}
	if t.get("utterance_text") != u.Text {
		return key, nil, t.errorAt("utterance_text", "text differs from the simple file")
	}
	return key, u, nil
}

// fullRowAnnotation validates and returns the labels of the current full-file row.
func fullRowAnnotation(t *table, speaker string) (annotation, error) {
	ann := annotation{line: t.line()}
	var err error
	if ann.annotator, err = t.int("annotator_id"); err != nil {
		return ann, err
	}
	if _, _, err = speakerLabels(t, speaker, "main_therapist_behaviour", "client_talk_type"); err != nil {
		return ann, err
	}
	for i, attr := range fineAttributes {
		if speaker == SpeakerClient {
			if _, err := t.oneOf(attr.exists, notApplicable); err != nil {
				return ann, err
			}
			if _, err := t.oneOf(attr.subtype, notApplicable); err != nil {
				return ann, err
			}
			continue
		}
		exists, err := t.oneOf(attr.exists, "True", "False")
		if err != nil {
			return ann, err
		}
		ann.exists[i] = exists == "True"
		if !ann.exists[i] {
			if _, err := t.oneOf(attr.subtype, notApplicable); err != nil {
				return ann, fmt.Errorf("%w (%s is False)", err, attr.exists)
			}
			continue
		}
		if ann.subtype[i], err = t.oneOf(attr.subtype, attr.values...); err != nil {
			return ann, fmt.Errorf("%w (%s is True)", err, attr.exists)
		}
	}
	return ann, nil
}

// voteFine resolves several annotations of one utterance into one set of
// fine labels. For each attribute, "exists" is the majority of all
// annotations and the subtype the majority among the annotators who said it
// exists. Ties go to the value given by the lowest annotator_id among the
// tied values: on the shipped data this rule reproduces the main labels of
// AnnoMI-simple.csv for all 428 multi-annotated utterances.
func voteFine(anns []annotation) FineLabels {
	sorted := append([]annotation(nil), anns...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].annotator < sorted[j].annotator })
	f := FineLabels{Annotations: len(anns)}
	var exists [3]bool
	var subtype [3]string
	for i := range fineAttributes {
		votes := make([]string, 0, len(sorted))
		for _, a := range sorted {
			votes = append(votes, fmt.Sprint(a.exists[i]))
		}
		exists[i] = majority(votes) == "true"
		if !exists[i] {
			continue
		}
		votes = votes[:0]
		for _, a := range sorted {
			if a.exists[i] {
				votes = append(votes, a.subtype[i])
			}
		}
		subtype[i] = majority(votes)
	}
	f.InputExists, f.InputSubtype = exists[0], subtype[0]
	f.ReflectionExists, f.ReflectionSubtype = exists[1], subtype[1]
	f.QuestionExists, f.QuestionSubtype = exists[2], subtype[2]
	return f
}

// majority returns the most frequent value; among equally frequent values
// the one that occurs first wins (callers order votes by annotator_id).
func majority(votes []string) string {
	counts := map[string]int{}
	best, bestCount := "", 0
	for _, v := range votes {
		counts[v]++
	}
	for _, v := range votes {
		if counts[v] > bestCount {
			best, bestCount = v, counts[v]
		}
	}
	return best
}
