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
//
// How good it is: a logistic regression over IDF-weighted word and
// character n-grams of the utterance and the preceding client turn, it
// reaches a four-way behaviour macro-F1 of 0.755 in 5-fold cross-validation
// by session (open/closed 0.744, simple/complex 0.614; the keyword measures
// 0.604 on the same folds). For scale, two human annotators agree at 0.797
// on the utterances AnnoMI had coded ten times. Treat its MITI summaries as
// estimates for comparing models, not as a session's score.
package metrics
