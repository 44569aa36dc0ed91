package main

import (
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/sft"
)

func init() {
	register("train full", "train every weight of a small Gemma 3n (pretraining or full fine-tuning)", trainFullUsage, runTrainFull)
}

const trainFullUsage = "--model M --data counselchat|annomi|both|corpus|FILE.jsonl --out RUN_DIR [--from-scratch] [--loss-on assistant|all] [flags]"

func runTrainFull(ctx *runContext, args []string) error {
	fs := newFlagSet(ctx, "train full", trainFullUsage,
		"Full-parameter training: every weight of the model is trained (float32 master weights, AdamW with weight\n"+
			"decay on matrices only, the schedule, evaluation, checkpoints and exact resume of train sft). RUN_DIR\n"+
			"receives config.yaml, data_summary.json, metrics.jsonl, checkpoints/, model/ and best_model/ (whole model\n"+
			"directories in Hugging Face layout, with tokenizer files; --model takes them) and summary.json; the run\n"+
			"directory is printed on stdout at the end. --from-scratch starts from random weights of the model's\n"+
			"architecture (seed: training.seed); --data corpus and --loss-on all make it language-model pretraining on\n"+
			"the training splits (make pretrain). Meant for small models: the optimizer keeps two more float32 copies\n"+
			"of every weight. Ctrl-C stops after the current step; --resume continues from the last checkpoint.")
	o := sft.Options{Full: true}
	fs.StringVar(&o.Model, "model", "", "model: a preset (tiny, mini, ...), a checkpoint directory or a Hugging Face repo id; with --from-scratch only its config is read (default: model_config.yaml)")
	fs.StringVar(&o.Data, "data", "", "counselchat, annomi, both, corpus (the training splits for pretraining: AnnoMI as whole sessions), or a JSONL file of conversations (required)")
	fs.BoolVar(&o.FromScratch, "from-scratch", false, "start from random weights (seed: training.seed) of the model's architecture")
	fs.StringVar(&o.LossOn, "loss-on", sft.LossOnAssistant, "training loss on the assistant turns (assistant) or on every token (all); evaluation always scores the assistant turns")
	fs.StringVar(&o.SaveDType, "save-dtype", "float32", "dtype of the weights written to model/ and best_model/: float32 or bfloat16")
	sets := addRunFlags(fs, &o, "1e-3")
	return runSFTCommand(ctx, fs, "train full", args, &o, sets)
}
