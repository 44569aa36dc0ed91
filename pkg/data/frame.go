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
	var (
		tid, uid, chars, words, annotations                           []int
		quality, topic, speaker, timestamp, text, behaviour, talkType []string
		inputSub, reflectionSub, questionSub                          []string
	)
	for _, t := range a.Transcripts {
		for _, u := range t.Utterances {
			tid, uid = append(tid, t.ID), append(uid, u.ID)
			quality, topic = append(quality, t.Quality), append(topic, t.Topic)
			speaker, timestamp, text = append(speaker, u.Speaker), append(timestamp, u.Timestamp), append(text, u.Text)
			chars, words = append(chars, utf8.RuneCountInString(u.Text)), append(words, wordCount(u.Text))
			behaviour, talkType = append(behaviour, u.Behaviour), append(talkType, u.TalkType)
			inputSub = append(inputSub, u.Fine.InputSubtype)
			reflectionSub = append(reflectionSub, u.Fine.ReflectionSubtype)
			questionSub = append(questionSub, u.Fine.QuestionSubtype)
			annotations = append(annotations, u.Fine.Annotations)
		}
	}
	return dataframe.New(
		series.New(tid, series.Int, "transcript_id"),
		series.New(quality, series.String, "quality"),
		series.New(topic, series.String, "topic"),
		series.New(uid, series.Int, "utterance_id"),
		series.New(speaker, series.String, "speaker"),
		series.New(timestamp, series.String, "timestamp"),
		series.New(text, series.String, "text"),
		series.New(chars, series.Int, "chars"),
		series.New(words, series.Int, "words"),
		series.New(behaviour, series.String, "behaviour"),
		series.New(talkType, series.String, "talk_type"),
		series.New(inputSub, series.String, "input_subtype"),
		series.New(reflectionSub, series.String, "reflection_subtype"),
		series.New(questionSub, series.String, "question_subtype"),
		series.New(annotations, series.Int, "annotations"),
	)
}

// CounselChatFrame is CounselChat as one row per non-empty answer.
// Columns: question_id, topic, title, question, therapist, therapist_url,
// answer, answer_chars, answer_words, upvotes, views, answers_to_question.
func CounselChatFrame(c *CounselChat) dataframe.DataFrame {
	var (
		qid, chars, words, upvotes, views, siblings             []int
		topic, title, question, therapist, therapistURL, answer []string
	)
	for _, q := range c.Questions {
		for _, a := range q.Answers {
			qid, topic, title, question = append(qid, q.ID), append(topic, q.Topic), append(title, q.Title), append(question, q.Text)
			therapist, therapistURL, answer = append(therapist, a.Therapist), append(therapistURL, a.TherapistURL), append(answer, a.Text)
			chars, words = append(chars, utf8.RuneCountInString(a.Text)), append(words, wordCount(a.Text))
			upvotes, views, siblings = append(upvotes, a.Upvotes), append(views, a.Views), append(siblings, len(q.Answers))
		}
	}
	return dataframe.New(
		series.New(qid, series.Int, "question_id"),
		series.New(topic, series.String, "topic"),
		series.New(title, series.String, "title"),
		series.New(question, series.String, "question"),
		series.New(therapist, series.String, "therapist"),
		series.New(therapistURL, series.String, "therapist_url"),
		series.New(answer, series.String, "answer"),
		series.New(chars, series.Int, "answer_chars"),
		series.New(words, series.Int, "answer_words"),
		series.New(upvotes, series.Int, "upvotes"),
		series.New(views, series.Int, "views"),
		series.New(siblings, series.Int, "answers_to_question"),
	)
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
