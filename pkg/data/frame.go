package data

import (
	"unicode/utf8"

	"github.com/go-gota/gota/dataframe"
	"github.com/go-gota/gota/series"
)

// AnnoMIFrame is AnnoMI as one row per utterance, for exploration in
// notebooks. Columns: transcript_id, quality, topic, utterance_id,
// speaker, timestamp, text, chars, words, behaviour, talk_type,
// input_subtype, reflection_subtype, question_subtype, annotations.
// Labels that do not apply are empty strings.
func AnnoMIFrame(a *AnnoMI) dataframe.DataFrame {
	type row struct {
		t *Transcript
		u *Utterance
	}
	var rows []row
	for i := range a.Transcripts {
		t := &a.Transcripts[i]
		for j := range t.Utterances {
			rows = append(rows, row{t, &t.Utterances[j]})
		}
	}
	return newFrame(rows,
		frameColumn("transcript_id", series.Int, func(r row) int { return r.t.ID }),
		frameColumn("quality", series.String, func(r row) string { return r.t.Quality }),
		frameColumn("topic", series.String, func(r row) string { return r.t.Topic }),
		frameColumn("utterance_id", series.Int, func(r row) int { return r.u.ID }),
		frameColumn("speaker", series.String, func(r row) string { return r.u.Speaker }),
		frameColumn("timestamp", series.String, func(r row) string { return r.u.Timestamp }),
		frameColumn("text", series.String, func(r row) string { return r.u.Text }),
		frameColumn("chars", series.Int, func(r row) int { return utf8.RuneCountInString(r.u.Text) }),
		frameColumn("words", series.Int, func(r row) int { return wordCount(r.u.Text) }),
		frameColumn("behaviour", series.String, func(r row) string { return r.u.Behaviour }),
		frameColumn("talk_type", series.String, func(r row) string { return r.u.TalkType }),
		frameColumn("input_subtype", series.String, func(r row) string { return r.u.Fine.InputSubtype }),
		frameColumn("reflection_subtype", series.String, func(r row) string { return r.u.Fine.ReflectionSubtype }),
		frameColumn("question_subtype", series.String, func(r row) string { return r.u.Fine.QuestionSubtype }),
		frameColumn("annotations", series.Int, func(r row) int { return r.u.Fine.Annotations }),
	)
}

// CounselChatFrame is CounselChat as one row per non-empty answer.
// Columns: question_id, topic, title, question, therapist, therapist_url,
// answer, answer_chars, answer_words, upvotes, views, answers_to_question.
func CounselChatFrame(c *CounselChat) dataframe.DataFrame {
	type row struct {
		q *Question
		a *Answer
	}
	var rows []row
	for i := range c.Questions {
		q := &c.Questions[i]
		for j := range q.Answers {
			rows = append(rows, row{q, &q.Answers[j]})
		}
	}
	return newFrame(rows,
		frameColumn("question_id", series.Int, func(r row) int { return r.q.ID }),
		frameColumn("topic", series.String, func(r row) string { return r.q.Topic }),
		frameColumn("title", series.String, func(r row) string { return r.q.Title }),
		frameColumn("question", series.String, func(r row) string { return r.q.Text }),
		frameColumn("therapist", series.String, func(r row) string { return r.a.Therapist }),
		frameColumn("therapist_url", series.String, func(r row) string { return r.a.TherapistURL }),
		frameColumn("answer", series.String, func(r row) string { return r.a.Text }),
		frameColumn("answer_chars", series.Int, func(r row) int { return utf8.RuneCountInString(r.a.Text) }),
		frameColumn("answer_words", series.Int, func(r row) int { return wordCount(r.a.Text) }),
		frameColumn("upvotes", series.Int, func(r row) int { return r.a.Upvotes }),
		frameColumn("views", series.Int, func(r row) int { return r.a.Views }),
		frameColumn("answers_to_question", series.Int, func(r row) int { return len(r.q.Answers) }),
	)
}

// column builds one series of a frame from the frame's rows. A frame lists
// its columns as name, type and value side by side, so that each column is
// spelled out once.
type column[R any] func(rows []R) series.Series

// frameColumn is the column called name, of type typ, holding value(row)
// for every row.
func frameColumn[R, V any](name string, typ series.Type, value func(R) V) column[R] {
	return func(rows []R) series.Series {
		values := make([]V, len(rows))
		for i, r := range rows {
			values[i] = value(r)
		}
		return series.New(values, typ, name)
	}
}

// newFrame is the frame of rows with columns, in order.
func newFrame[R any](rows []R, columns ...column[R]) dataframe.DataFrame {
	all := make([]series.Series, len(columns))
	for i, c := range columns {
		all[i] = c(rows)
	}
	return dataframe.New(all...)
}

// wordCount counts white-space separated words.
func wordCount(s string) int {
	n, inWord := 0, false
	for _, r := range s {
		space := r == ' ' || r == '\n' || r == '\t' || r == '\r'
		if !space && !inWord {
			n++
		}
		inWord = !space
	}
	return n
}
