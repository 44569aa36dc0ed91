package data

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

const simpleHeader = "transcript_id,mi_quality,video_title,video_url,topic,utterance_id,interlocutor,timestamp,utterance_text,main_therapist_behaviour,client_talk_type\n"

// simpleCSV is a small valid AnnoMI-simple file: rows out of order, a
// quoted multi-line text, a therapist opening and a merged client run.
const simpleCSV = simpleHeader +
	`1,high,"Video ""A""",http://a,smoking cessation ,1,client,00:00:05,"Not sure.
Really.",n/a,neutral
1,high,"Video ""A""",http://a,smoking cessation ,0,therapist,00:00:01,How are you?,question,n/a
1,high,"Video ""A""",http://a,smoking cessation ,2,client,00:00:07,I smoke a lot.,n/a,sustain
1,high,"Video ""A""",http://a,smoking cessation ,3,therapist,00:00:09,You smoke a lot.,reflection,n/a
0,low,V,http://b,diet; weight loss,0,client,00:00:01,Hi.,n/a,change
0,low,V,http://b,diet; weight loss,1,therapist,00:00:02,Eat less.,therapist_input,n/a
`

func TestReadAnnoMISimple(t *testing.T) {
	a, err := ReadAnnoMI(strings.NewReader(simpleCSV), "simple.csv", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Transcripts) != 2 || a.Transcripts[0].ID != 0 || a.Transcripts[1].ID != 1 {
		t.Fatalf("transcripts not ordered by id: %+v", a.Transcripts)
	}
	t1 := a.Transcripts[1]
	if t1.Quality != QualityHigh || t1.VideoTitle != `Video "A"` || t1.Topic != "smoking cessation" {
		t.Errorf("transcript 1 = %+v", t1)
	}
	var ids []int
	for _, u := range t1.Utterances {
		ids = append(ids, u.ID)
	}
	if !reflect.DeepEqual(ids, []int{0, 1, 2, 3}) {
		t.Errorf("utterance order %v", ids)
	}
	u := t1.Utterances[1]
	if u.Speaker != SpeakerClient || u.Text != "Not sure.\nReally." || u.TalkType != TalkNeutral || u.Behaviour != "" {
		t.Errorf("utterance 1 = %+v", u)
	}
	if got := a.Transcripts[0].Topics(); !reflect.DeepEqual(got, []string{"diet", "weight loss"}) {
		t.Errorf("Topics = %q", got)
	}
	if a.HasFineLabels {
		t.Error("HasFineLabels without the full file")
	}
}

func TestReadAnnoMIHeaderOrder(t *testing.T) {
	// The same file with columns in another order (and an extra column) loads the same.
	cols := strings.Split(strings.TrimSpace(simpleHeader), ",")
	perm := []int{10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}
	var b strings.Builder
	a0, err := ReadAnnoMI(strings.NewReader(simpleCSV), "simple.csv", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString("extra,")
	for i, p := range perm {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(cols[p])
	}
	b.WriteString("\n")
	for _, tr := range a0.Transcripts {
		for _, u := range tr.Utterances {
			row := []string{fmt.Sprint(tr.ID), tr.Quality, tr.VideoTitle, tr.VideoURL, tr.Topic, fmt.Sprint(u.ID), u.Speaker,
				u.Timestamp, u.Text, orNA(u.Behaviour), orNA(u.TalkType)}
			b.WriteString("x")
			for _, p := range perm {
				b.WriteString(",")
				b.WriteString(quoteCSV(row[p]))
			}
			b.WriteString("\n")
		}
	}
	a1, err := ReadAnnoMI(strings.NewReader(b.String()), "reordered.csv", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a0, a1) {
		t.Errorf("reordered header changes the result")
	}
}

func orNA(s string) string {
	if s == "" {
		return notApplicable
	}
	return s
}

func quoteCSV(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// fieldColumn returns the 1-based byte column of field i on a line without quoted commas.
func fieldColumn(line string, i int) int {
	col := 1
	for _, f := range strings.Split(line, ",")[:i] {
		col += len(f) + 1
	}
	return col
}

func TestReadAnnoMISimpleErrors(t *testing.T) {
	good := "0,low,V,http://b,diet,0,client,00:00:01,Hi.,n/a,change"
	tests := []struct {
		name    string
		body    string // rows after the header
		header  string // replaces simpleHeader when set
		line    int
		field   int // field index for the column position, -1 when the error names no column
		wantSub string
	}{
		{"missing column", good + "\n", strings.Replace(simpleHeader, ",topic", "", 1), 1, -1, `column "topic": missing required column`},
		{"duplicate column", good + ",x\n", strings.TrimSpace(simpleHeader) + ",topic\n", 1, 11, `column "topic": duplicate column`},
		{"bad behaviour", good + "\n0,low,V,http://b,diet,1,therapist,00:00:02,Hm.,questoin,n/a\n", "", 3, 9, `column "main_therapist_behaviour": unknown value "questoin"`},
		{"bad talk type", "0,low,V,http://b,diet,0,client,00:00:01,Hi.,n/a,maybe\n", "", 2, 10, `column "client_talk_type": unknown value "maybe"`},
		{"client with behaviour", "0,low,V,http://b,diet,0,client,00:00:01,Hi.,question,change\n", "", 2, 9, `column "main_therapist_behaviour": unknown value "question" (want one of n/a)`},
		{"therapist with talk type", "0,low,V,http://b,diet,0,therapist,00:00:01,Hi.,other,change\n", "", 2, 10, `column "client_talk_type"`},
		{"empty n/a is not n/a", "0,low,V,http://b,diet,0,therapist,00:00:01,Hi.,other,\n", "", 2, 10, `column "client_talk_type": unknown value ""`},
		{"bad speaker", "0,low,V,http://b,diet,0,counsellor,00:00:01,Hi.,other,n/a\n", "", 2, 6, `column "interlocutor": unknown value "counsellor"`},
		{"bad quality", "0,medium,V,http://b,diet,0,client,00:00:01,Hi.,n/a,change\n", "", 2, 1, `column "mi_quality": unknown value "medium"`},
		{"bad int", good + "\n0,low,V,http://b,diet,1x,client,00:00:01,Hi.,n/a,change\n", "", 3, 5, `column "utterance_id": want a non-negative integer, got "1x"`},
		{"negative id", "-1,low,V,http://b,diet,0,client,00:00:01,Hi.,n/a,change\n", "", 2, 0, `column "transcript_id": want a non-negative integer, got "-1"`},
		{"empty text", "0,low,V,http://b,diet,0,client,00:00:01, ,n/a,change\n", "", 2, 8, `column "utterance_text": empty utterance`},
		{"duplicate utterance", good + "\n" + good + "\n", "", 3, 5, `duplicate utterance 0 of transcript 0 (first on line 2)`},
		{"quality changes", good + "\n0,high,V,http://b,diet,1,client,00:00:01,Hi.,n/a,change\n", "", 3, 1, `"high" differs from "low" on line 2, within transcript 0`},
		{"ragged row", good + "\n0,low,V,http://b,diet,1,client,00:00:01,Hi.,n/a,change,extra\n", "", 3, 0, `row has 12 fields, the header has 11`},
		{"short row", good + "\n0,low,V\n", "", 3, 0, `row has 3 fields, the header has 11`},
		{"unterminated quote", good + "\n0,low,V,http://b,diet,1,client,00:00:01,\"Hi.,n/a,change\n", "", 3, -1, `extraneous or missing " in quoted-field`},
		{"bare quote", "0,low,V\"x,http://b,diet,0,client,00:00:01,Hi.,n/a,change\n", "", 2, -1, `bare " in non-quoted-field`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			header := simpleHeader
			if tc.header != "" {
				header = tc.header
			}
			input := header + tc.body
			_, err := ReadAnnoMI(strings.NewReader(input), "simple.csv", nil, "")
			if err == nil {
				t.Fatalf("no error for:\n%s", input)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is %T, want *ParseError", err, err)
			}
			want := fmt.Sprintf("simple.csv:%d:", tc.line)
			if tc.field >= 0 {
				line := strings.Split(input, "\n")[tc.line-1]
				want = fmt.Sprintf("simple.csv:%d:%d:", tc.line, fieldColumn(line, tc.field))
			}
			if tc.line == 1 && tc.field < 0 {
				want = "simple.csv:1: "
			}
			if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.wantSub) {
				t.Errorf("error\n  %v\nwant prefix %q and %q", err, want, tc.wantSub)
			}
		})
	}
}

func TestReadAnnoMIEmptyAndBOM(t *testing.T) {
	if _, err := ReadAnnoMI(strings.NewReader(""), "empty.csv", nil, ""); err == nil || !strings.Contains(err.Error(), "empty.csv:1: empty file") {
		t.Errorf("empty file: %v", err)
	}
	a, err := ReadAnnoMI(strings.NewReader(utf8BOM+simpleCSV), "bom.csv", nil, "")
	if err != nil || len(a.Transcripts) != 2 {
		t.Errorf("BOM: %v", err)
	}
	a, err = ReadAnnoMI(strings.NewReader(simpleHeader), "header.csv", nil, "")
	if err != nil || len(a.Transcripts) != 0 {
		t.Errorf("header only: %v, %d transcripts", err, len(a.Transcripts))
	}
}

const fullHeader = "mi_quality,transcript_id,video_title,video_url,topic,utterance_id,interlocutor,timestamp,utterance_text,annotator_id,therapist_input_exists,therapist_input_subtype,reflection_exists,reflection_subtype,question_exists,question_subtype,main_therapist_behaviour,client_talk_type\n"

// fullRow builds a full-file row of transcript 1 of simpleCSV.
func fullRow(utt int, speaker, text string, annotator int, fine string, main string) string {
	return fmt.Sprintf("high,1,x,http://a,t,%d,%s,00:00:00,%s,%d,%s,%s\n", utt, speaker, quoteCSV(text), annotator, fine, main)
}

const clientFine = "n/a,n/a,n/a,n/a,n/a,n/a"

func TestReadAnnoMIFullVote(t *testing.T) {
	full := fullHeader +
		fullRow(0, "therapist", "How are you?", 0, "False,n/a,False,n/a,True,open", "question,n/a") +
		// Utterance 3: four annotators, listed out of annotator order.
		fullRow(3, "therapist", "You smoke a lot.", 7, "False,n/a,True,simple,False,n/a", "reflection,n/a") +
		fullRow(3, "therapist", "You smoke a lot.", 4, "True,advice,True,simple,False,n/a", "reflection,n/a") +
		fullRow(3, "therapist", "You smoke a lot.", 2, "True,options,True,complex,True,closed", "reflection,n/a") +
		fullRow(3, "therapist", "You smoke a lot.", 5, "False,n/a,True,complex,False,n/a", "question,n/a") +
		fullRow(1, "client", "Not sure.\nReally.", 3, clientFine, "n/a,neutral")
	a, err := ReadAnnoMI(strings.NewReader(simpleCSV), "simple.csv", strings.NewReader(full), "full.csv")
	if err != nil {
		t.Fatal(err)
	}
	utts := a.Transcripts[1].Utterances
	if got, want := utts[0].Fine, (FineLabels{Annotations: 1, QuestionExists: true, QuestionSubtype: QuestionOpen}); got != want {
		t.Errorf("single annotation: %+v, want %+v", got, want)
	}
	// input exists 2:2, tie → annotator 2 (True); its subtypes advice (4) vs
	// options (2) tie → annotator 2's options. Reflection 4:0, subtype 2:2 →
	// annotator 2's complex. Question 1:3 → False.
	want := FineLabels{Annotations: 4, InputExists: true, InputSubtype: InputOptions,
		ReflectionExists: true, ReflectionSubtype: ReflectionComplex}
	if got := utts[3].Fine; got != want {
		t.Errorf("voted: %+v, want %+v", got, want)
	}
	if got := utts[1].Fine; got != (FineLabels{Annotations: 1}) {
		t.Errorf("client fine labels %+v", got)
	}
	if utts[2].Fine.Annotations != 0 {
		t.Errorf("utterance missing from the full file has %d annotations", utts[2].Fine.Annotations)
	}
	if a.MultiAnnotated != 1 || !a.HasFineLabels {
		t.Errorf("MultiAnnotated %d, HasFineLabels %v", a.MultiAnnotated, a.HasFineLabels)
	}
}

func TestMajority(t *testing.T) {
	tests := []struct {
		votes []string
		want  string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b", "b"}, "b"},
		{[]string{"b", "a", "a", "b"}, "b"},
		{[]string{"c", "a", "b", "a", "b"}, "a"},
	}
	for _, tc := range tests {
		if got := majority(tc.votes); got != tc.want {
			t.Errorf("majority(%q) = %q, want %q", tc.votes, got, tc.want)
		}
	}
}

func TestReadAnnoMIFullErrors(t *testing.T) {
	tests := []struct {
		name, row string
		field     int // field index of the reported column
		wantSub   string
	}{
		{"not in simple", fullRow(9, "therapist", "x", 0, "False,n/a,False,n/a,False,n/a", "other,n/a"), 5, "utterance 9 of transcript 1 is not in the simple file"},
		{"speaker differs", fullRow(0, "client", "How are you?", 0, clientFine, "n/a,neutral"), 6, `"client" but the simple file says "therapist"`},
		{"text differs", fullRow(0, "therapist", "How are you", 0, "False,n/a,False,n/a,True,open", "question,n/a"), 8, "text differs from the simple file"},
		{"quality differs", strings.Replace(fullRow(0, "therapist", "How are you?", 0, "False,n/a,False,n/a,True,open", "question,n/a"), "high", "low", 1), 0, `"low" but the simple file says "high"`},
		{"subtype without exists", fullRow(0, "therapist", "How are you?", 0, "False,n/a,False,n/a,False,open", "question,n/a"), 15, `unknown value "open" (want one of n/a) (question_exists is False)`},
		{"exists without subtype", fullRow(0, "therapist", "How are you?", 0, "False,n/a,False,n/a,True,n/a", "question,n/a"), 15, `(question_exists is True)`},
		{"bad exists", fullRow(0, "therapist", "How are you?", 0, "false,n/a,False,n/a,True,open", "question,n/a"), 10, `unknown value "false" (want one of True, False)`},
		{"client with exists", fullRow(2, "client", "I smoke a lot.", 0, "False,n/a,n/a,n/a,n/a,n/a", "n/a,sustain"), 10, `column "therapist_input_exists"`},
		{"bad subtype", fullRow(0, "therapist", "How are you?", 0, "True,lecture,False,n/a,True,open", "question,n/a"), 11, `unknown value "lecture"`},
		{"bad annotator", "high,1,x,http://a,t,0,therapist,00:00:00,How are you?,A,False,n/a,False,n/a,True,open,question,n/a\n", 9, `column "annotator_id"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			full := fullHeader + tc.row
			_, err := ReadAnnoMI(strings.NewReader(simpleCSV), "simple.csv", strings.NewReader(full), "full.csv")
			if err == nil {
				t.Fatal("no error")
			}
			col := fieldColumn(strings.Split(full, "\n")[1], tc.field)
			want := fmt.Sprintf("full.csv:2:%d:", col)
			if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.wantSub) {
				t.Errorf("error\n  %v\nwant prefix %q and %q", err, want, tc.wantSub)
			}
		})
	}
	dup := fullHeader + fullRow(0, "therapist", "How are you?", 3, "False,n/a,False,n/a,True,open", "question,n/a") +
		fullRow(0, "therapist", "How are you?", 3, "False,n/a,False,n/a,True,open", "question,n/a")
	_, err := ReadAnnoMI(strings.NewReader(simpleCSV), "simple.csv", strings.NewReader(dup), "full.csv")
	if err == nil || !strings.Contains(err.Error(), "full.csv:3:") || !strings.Contains(err.Error(), "annotator 3 labelled utterance 0 of transcript 1 twice (first on line 2)") {
		t.Errorf("duplicate annotator: %v", err)
	}
}
