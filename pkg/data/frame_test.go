package data

import (
	"strings"
	"testing"

	"github.com/go-gota/gota/dataframe"
)

func TestFrames(t *testing.T) {
	a, err := ReadAnnoMI(strings.NewReader(simpleCSV), "simple.csv", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	df := AnnoMIFrame(a)
	if df.Err != nil {
		t.Fatal(df.Err)
	}
	if r, c := df.Dims(); r != 6 || c != 15 {
		t.Fatalf("AnnoMI frame %dx%d, want 6x15", r, c)
	}
	if got := df.Col("text").Elem(3).String(); got != "Not sure.\nReally." {
		t.Errorf("row 3 text %q", got)
	}
	if got, _ := df.Col("words").Elem(3).Int(); got != 3 {
		t.Errorf("row 3 words %d", got)
	}
	therapist := df.Filter(dataframe.F{Colname: "speaker", Comparator: "==", Comparando: SpeakerTherapist})
	if therapist.Nrow() != 3 {
		t.Errorf("%d therapist rows, want 3", therapist.Nrow())
	}

	c, err := ReadCounselChat(strings.NewReader(ccHeader+ccRow(1, "Sad?", "text", "ann", "Talk to me.", 3, 10)+ccRow(1, "Sad?", "text", "bob", "", 0, 5)+ccRow(2, "T", "", "cy", "Yes.", 0, 1)), "cc.csv")
	if err != nil {
		t.Fatal(err)
	}
	cf := CounselChatFrame(c)
	if r, col := cf.Dims(); r != 2 || col != 12 || cf.Err != nil {
		t.Fatalf("CounselChat frame %dx%d (%v), want 2x12", r, col, cf.Err)
	}
	if got, _ := cf.Col("upvotes").Elem(0).Int(); got != 3 {
		t.Errorf("upvotes %d", got)
	}
	if got, _ := cf.Col("answer_words").Elem(0).Int(); got != 3 {
		t.Errorf("answer words %d", got)
	}
}

func TestShippedFrames(t *testing.T) {
	c := loadShipped(t)
	if r := AnnoMIFrame(c.AnnoMI).Nrow(); r != 9699 {
		t.Errorf("AnnoMI frame has %d rows, want 9699", r)
	}
	if r := CounselChatFrame(c.CounselChat).Nrow(); r != 2749 {
		t.Errorf("CounselChat frame has %d rows, want 2749", r)
	}
}
