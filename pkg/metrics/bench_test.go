package metrics

import "testing"

const (
	benchHyp = "It sounds like you have been feeling overwhelmed at work, and you're not sure how to talk to your manager about it."
	benchRef = "So work has been a lot lately, and part of you wants to raise it with your boss while part of you worries how that would go."
)

func BenchmarkSentenceBLEU(b *testing.B) {
	for b.Loop() {
		SentenceBLEU(benchHyp, benchRef)
	}
}

func BenchmarkSentenceCHRF(b *testing.B) {
	for b.Loop() {
		SentenceCHRF(benchHyp, benchRef)
	}
}

func BenchmarkROUGE(b *testing.B) {
	for b.Loop() {
		ROUGE(benchHyp, benchRef)
	}
}

func BenchmarkMIClassify(b *testing.B) {
	m, err := DefaultMIClassifier()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		m.Classify(benchHyp, benchRef)
	}
}

func BenchmarkScoreTherapeutic(b *testing.B) {
	w := DefaultQualityWeights()
	for b.Loop() {
		ScoreTherapeutic(benchHyp, w)
	}
}
