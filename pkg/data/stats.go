package data

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Stats are the headline numbers of both corpora. Their JSON form is the
// contract of `gemma3n-therapy data stats --json`.
type Stats struct {
	AnnoMI      AnnoMIStats      `json:"annomi"`
	CounselChat CounselChatStats `json:"counselchat"`
}

// AnnoMIStats counts AnnoMI. Quality counts transcripts (MI quality is a
// property of the whole session); UtterancesByQuality counts utterances.
// TherapistBehaviour counts therapist utterances only, ClientTalkType client
// utterances only, and the subtype counts the voted fine labels of
// therapist utterances.
type AnnoMIStats struct {
	Transcripts         int             `json:"transcripts"`
	Utterances          int             `json:"utterances"`
	Turns               int             `json:"turns"` // after merging same-speaker runs
	Quality             QualityCounts   `json:"quality"`
	UtterancesByQuality QualityCounts   `json:"utterances_by_quality"`
	Interlocutor        SpeakerCounts   `json:"interlocutor"`
	TherapistBehaviour  BehaviourCounts `json:"therapist_behaviour"`
	ClientTalkType      TalkTypeCounts  `json:"client_talk_type"`
	MultiAnnotated      int             `json:"multi_annotated_utterances"`
	ReflectionSubtype   map[string]int  `json:"reflection_subtype"`
	QuestionSubtype     map[string]int  `json:"question_subtype"`
	InputSubtype        map[string]int  `json:"input_subtype"`
	TopicTags           int             `json:"topic_tags"` // distinct tags after splitting on ";"
}

// QualityCounts counts by MI quality.
type QualityCounts struct {
	High int `json:"high"`
	Low  int `json:"low"`
}

// SpeakerCounts counts utterances by speaker.
type SpeakerCounts struct {
	Therapist int `json:"therapist"`
	Client    int `json:"client"`
}

// BehaviourCounts counts therapist utterances by main behaviour.
type BehaviourCounts struct {
	Question       int `json:"question"`
	Reflection     int `json:"reflection"`
	TherapistInput int `json:"therapist_input"`
	Other          int `json:"other"`
}

// TalkTypeCounts counts client utterances by talk type.
type TalkTypeCounts struct {
	Change  int `json:"change"`
	Neutral int `json:"neutral"`
	Sustain int `json:"sustain"`
}

// CounselChatStats counts CounselChat. Answers counts non-empty answers;
// PreferencePairs uses the default rule (one strict pair per question).
type CounselChatStats struct {
	Rows                 int `json:"rows"`
	Questions            int `json:"questions"`
	QuestionsWithAnswers int `json:"questions_with_answers"`
	Answers              int `json:"answers"`
	EmptyAnswers         int `json:"empty_answers"`
	Topics               int `json:"topics"`
	Therapists           int `json:"therapists"` // distinct profile URLs among non-empty answers
	PreferencePairs      int `json:"preference_pairs"`
}

// Stats computes the statistics of both corpora.
func (c *Corpus) Stats() (Stats, error) {
	cc, err := c.CounselChat.Stats()
	return Stats{AnnoMI: c.AnnoMI.Stats(), CounselChat: cc}, err
}

// Stats counts the AnnoMI corpus.
func (a *AnnoMI) Stats() AnnoMIStats {
	s := AnnoMIStats{
		Transcripts:       len(a.Transcripts),
		MultiAnnotated:    a.MultiAnnotated,
		ReflectionSubtype: map[string]int{},
		QuestionSubtype:   map[string]int{},
		InputSubtype:      map[string]int{},
	}
	tags := map[string]bool{}
	for i := range a.Transcripts {
		t := &a.Transcripts[i]
		countQuality(&s.Quality, t.Quality, 1)
		countQuality(&s.UtterancesByQuality, t.Quality, len(t.Utterances))
		s.Utterances += len(t.Utterances)
		s.Turns += len(t.Turns())
		for _, tag := range t.Topics() {
			tags[tag] = true
		}
		for _, u := range t.Utterances {
			s.countUtterance(&u)
		}
	}
	s.TopicTags = len(tags)
	return s
}

func countQuality(q *QualityCounts, quality string, n int) {
	if quality == QualityHigh {
		q.High += n
	} else {
		q.Low += n
	}
}

func (s *AnnoMIStats) countUtterance(u *Utterance) {
	if u.Speaker == SpeakerClient {
		s.Interlocutor.Client++
		switch u.TalkType {
		case TalkChange:
			s.ClientTalkType.Change++
		case TalkNeutral:
			s.ClientTalkType.Neutral++
		case TalkSustain:
			s.ClientTalkType.Sustain++
		}
		return
	}
	s.Interlocutor.Therapist++
	switch u.Behaviour {
	case BehaviourQuestion:
		s.TherapistBehaviour.Question++
	case BehaviourReflection:
		s.TherapistBehaviour.Reflection++
	case BehaviourTherapistInput:
		s.TherapistBehaviour.TherapistInput++
	case BehaviourOther:
		s.TherapistBehaviour.Other++
	}
	for _, f := range []struct {
		m map[string]int
		v string
	}{{s.ReflectionSubtype, u.Fine.ReflectionSubtype}, {s.QuestionSubtype, u.Fine.QuestionSubtype}, {s.InputSubtype, u.Fine.InputSubtype}} {
		if f.v != "" {
			f.m[f.v]++
		}
	}
}

// Stats counts the CounselChat corpus, preference pairs by the default rule.
func (c *CounselChat) Stats() (CounselChatStats, error) {
	s := CounselChatStats{Rows: c.Rows, Questions: len(c.Questions), EmptyAnswers: c.EmptyAnswers}
	topics, therapists := map[string]bool{}, map[string]bool{}
	for _, q := range c.Questions {
		topics[q.Topic] = true
		if len(q.Answers) > 0 {
			s.QuestionsWithAnswers++
		}
		s.Answers += len(q.Answers)
		for _, a := range q.Answers {
			therapists[a.TherapistURL] = true
		}
	}
	s.Topics, s.Therapists = len(topics), len(therapists)
	pairs, err := PreferencePairs(c, PairOptions{})
	s.PreferencePairs = len(pairs)
	return s, err
}

// WriteTable prints the statistics as readable tables.
func (s Stats) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	a, c := s.AnnoMI, s.CounselChat
	rows := []struct {
		label string
		value any
	}{
		{"AnnoMI", ""},
		{"transcripts (high / low quality)", fmt.Sprintf("%d (%d / %d)", a.Transcripts, a.Quality.High, a.Quality.Low)},
		{"utterances (high / low quality)", fmt.Sprintf("%d (%d / %d)", a.Utterances, a.UtterancesByQuality.High, a.UtterancesByQuality.Low)},
		{"turns after merging same-speaker runs", a.Turns},
		{"therapist / client utterances", fmt.Sprintf("%d / %d", a.Interlocutor.Therapist, a.Interlocutor.Client)},
		{"therapist: question", a.TherapistBehaviour.Question},
		{"therapist: reflection", a.TherapistBehaviour.Reflection},
		{"therapist: therapist_input", a.TherapistBehaviour.TherapistInput},
		{"therapist: other", a.TherapistBehaviour.Other},
		{"client: change", a.ClientTalkType.Change},
		{"client: neutral", a.ClientTalkType.Neutral},
		{"client: sustain", a.ClientTalkType.Sustain},
		{"reflections simple / complex", fmt.Sprintf("%d / %d", a.ReflectionSubtype[ReflectionSimple], a.ReflectionSubtype[ReflectionComplex])},
		{"questions open / closed", fmt.Sprintf("%d / %d", a.QuestionSubtype[QuestionOpen], a.QuestionSubtype[QuestionClosed])},
		{"utterances annotated several times", a.MultiAnnotated},
		{"topic tags", a.TopicTags},
		{"", ""},
		{"CounselChat", ""},
		{"rows", c.Rows},
		{"questions (with an answer)", fmt.Sprintf("%d (%d)", c.Questions, c.QuestionsWithAnswers)},
		{"answers (non-empty)", c.Answers},
		{"empty answers (skipped)", c.EmptyAnswers},
		{"topics", c.Topics},
		{"therapists", c.Therapists},
		{"preference pairs (one strict pair per question)", c.PreferencePairs},
	}
	for _, r := range rows {
		if r.label != "" && r.value == "" {
			fmt.Fprintf(tw, "%s\n", r.label) // section title
			continue
		}
		fmt.Fprintf(tw, "  %s\t%v\n", r.label, r.value)
	}
	return tw.Flush()
}
