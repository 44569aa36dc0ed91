// Package metrics scores counsellor replies: standard text metrics (BLEU and
// chrF exactly as sacreBLEU 2.x computes them, ROUGE-1/2/L as the rouge-score
// tokeniser and torchmetrics compute them), BERTScore over a pluggable
// encoder, the original design's keyword measures of therapeutic quality, a
// learned motivational-interviewing (MI) behaviour classifier trained on
// AnnoMI's expert labels, and a MITI-style summary of a set of replies.
//
// Everything here is a pure function on text; nothing loads a language
// model. The evaluator that generates replies lives with the model code and
// calls into this package.
package metrics
