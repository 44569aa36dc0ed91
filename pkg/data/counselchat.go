package data

import (
	"io"
	"os"
	"sort"
	"strings"
)

// CounselChat is the CounselChat corpus: questions posted on counselchat.com
// and the answers of verified therapists, with readers' upvotes.
type CounselChat struct {
	Rows         int        // data rows in the file
	EmptyAnswers int        // rows skipped because answerText is blank
	Questions    []Question // ordered by ID; a question whose answers are all empty has none
}

// Question is one CounselChat question with its non-empty answers.
type Question struct {
	ID      int
	Title   string
	Text    string // may be empty: the title then says it all
	Link    string
	Topic   string
	Answers []Answer // in file order (the site's order: most upvoted first)
}

// Answer is one therapist's answer to a question.
type Answer struct {
	Index        int    // 0-based position among the question's rows, empty answers included
	Therapist    string // name run together with credentials, as scraped
	TherapistURL string
	Text         string
	Upvotes      int
	Views        int
	Line         int // first line of the row in the file
}

// Prompt is the user turn of a question: the title, a blank line and the
// text; just the title when the text is empty (and just the text when the
// title is).
func (q *Question) Prompt() string {
	if q.Text == "" {
		return q.Title
	}
	if q.Title == "" {
		return q.Text
	}
	return q.Title + "\n\n" + q.Text
}

var counselChatColumns = []string{
	"questionID", "questionTitle", "questionText", "questionLink", "topic",
	"therapistInfo", "therapistURL", "answerText", "upvotes", "views",
}

// LoadCounselChat reads a CounselChat CSV (the 2022 release,
// 20220401_counsel_chat.csv).
func LoadCounselChat(path string) (*CounselChat, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadCounselChat(f, path)
}

// ReadCounselChat parses a CounselChat CSV; name is used in error messages.
// Columns are found by name, extra columns (such as an unnamed row index)
// are ignored, and text fields are trimmed of surrounding white space.
// Rows of one questionID must agree on title, text, link and topic. Rows
// with a blank answer are counted in EmptyAnswers and skipped.
func ReadCounselChat(r io.Reader, name string) (*CounselChat, error) {
	t, err := newTable(r, name, counselChatColumns)
	if err != nil {
		return nil, err
	}
	c := &CounselChat{}
	byID := map[int]*Question{}
	firstLine := map[int]int{}
	rows := map[int]int{} // rows seen per question, for Answer.Index
	for {
		if err := t.next(); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		c.Rows++
		q, err := questionOfRow(t, byID, firstLine)
		if err != nil {
			return nil, err
		}
		a, err := answerOfRow(t)
		if err != nil {
			return nil, err
		}
		a.Index = rows[q.ID]
		rows[q.ID]++
		if a.Text == "" {
			c.EmptyAnswers++
			continue
		}
		q.Answers = append(q.Answers, a)
	}
	c.Questions = make([]Question, 0, len(byID))
	for _, q := range byID {
		c.Questions = append(c.Questions, *q)
	}
	sort.Slice(c.Questions, func(i, j int) bool { return c.Questions[i].ID < c.Questions[j].ID })
	return c, nil
}

// questionOfRow returns the question of the current row, creating it on its
// first row and checking later rows against it.
func questionOfRow(t *table, byID map[int]*Question, firstLine map[int]int) (*Question, error) {
	id, err := t.int("questionID")
	if err != nil {
		return nil, err
	}
	row := Question{ID: id, Title: strings.TrimSpace(t.get("questionTitle")), Text: strings.TrimSpace(t.get("questionText")),
		Link: strings.TrimSpace(t.get("questionLink")), Topic: strings.TrimSpace(t.get("topic"))}
	if row.Title == "" && row.Text == "" {
		return nil, t.errorAt("questionTitle", "question %d has neither title nor text", id)
	}
	q, ok := byID[id]
	if !ok {
		byID[id] = &row
		firstLine[id] = t.line()
		return &row, nil
	}
	for _, c := range []struct{ column, got, want string }{
		{"questionTitle", row.Title, q.Title},
		{"questionText", row.Text, q.Text},
		{"questionLink", row.Link, q.Link},
		{"topic", row.Topic, q.Topic},
	} {
		if c.got != c.want {
			return nil, t.errorAt(c.column, "differs from line %d for questionID %d (%.40q vs %.40q)", firstLine[id], id, c.got, c.want)
		}
	}
	return q, nil
}

func answerOfRow(t *table) (Answer, error) {
	a := Answer{Therapist: strings.TrimSpace(t.get("therapistInfo")), TherapistURL: strings.TrimSpace(t.get("therapistURL")),
		Text: strings.TrimSpace(t.get("answerText")), Line: t.line()}
	var err error
	if a.Upvotes, err = t.int("upvotes"); err != nil {
		return a, err
	}
	if a.Views, err = t.int("views"); err != nil {
		return a, err
	}
	return a, nil
}
