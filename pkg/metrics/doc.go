// Package metrics scores counsellor replies: standard text metrics (BLEU and
// chrF exactly as sacreBLEU 2.x computes them, ROUGE-1/2/L as the rouge-score
// tokeniser and torchmetrics compute them), BERTScore over a pluggable
// encoder, the original design's keyword measures of therapeutic quality, a
// learned motivational-interviewing (MI) behaviour classifier trained on
// AnnoMI's expert labels, and a MITI-style summary of a set of replies.
//
// Everything here is a pure function on text; nothing loads a language
// model. The evaluator that generates replies lives with the model code and
// calls into this package; it supplies a BERTScore Encoder backed by a
// hidden layer of the model under evaluation.
//
// The shipped MI classifier (assets/mi_classifier.gob.gz, read by
// DefaultMIClassifier) is trained deterministically from the shipped
// AnnoMI files. Rebuild it with
//
//	go generate ./pkg/metrics
//
// and print the 5-fold cross-validation over transcripts, the keyword
// baseline on the same folds and the MITI sanity check with
//
//	go run ./pkg/metrics/internal/trainmi -annomi datasets/annomi -cv
package metrics
