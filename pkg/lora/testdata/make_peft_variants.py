"""Makes testdata/peft-rslora-patterns and testdata/peft-multimodal with PEFT.

Run from the repository root where torch 2.11.0, transformers 5.17.0 and
peft 0.21.0 are installed (the project's GPU machine has them; a CPU is
enough). Not used by the tests, which only read the files it wrote.
"""
import os

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

TINY = "pkg/internal/testutil/testdata/gemma3n-tiny"
OUT = "pkg/lora/testdata"
ids = load_file("pkg/internal/testutil/testdata/gemma3n-tiny-lora/reference.safetensors")["input_ids"]


def fresh():
    return AutoModelForCausalLM.from_pretrained(TINY).eval()


class Wrap(torch.nn.Module):
    """The text model under model.language_model, as Gemma3nForConditionalGeneration names it."""

    def __init__(self, causal):
        super().__init__()
        self.model = torch.nn.Module()
        self.model.language_model = causal.model
        self.lm_head = causal.lm_head
        self.cap = causal.config.final_logit_softcapping

    def forward(self, input_ids=None, **kw):
        h = self.model.language_model(input_ids=input_ids).last_hidden_state
        x = self.lm_head(h)
        return torch.tanh(x / self.cap) * self.cap


def save(name, model, logits):
    model.save_pretrained(os.path.join(OUT, name))
    save_file({"input_ids": ids, "logits": logits.contiguous()}, os.path.join(OUT, name, "reference.safetensors"))


# A regular-expression target, rsLoRA, per-module ranks and alphas, random B
# (init_lora_weights=False), causal-LM layout.
torch.manual_seed(0)
cfg = LoraConfig(r=4, lora_alpha=8, target_modules=r".*\.(q_proj|v_proj|down_proj)", use_rslora=True,
                 rank_pattern={"v_proj": 2, "layers.1.mlp.down_proj": 6}, alpha_pattern={"down_proj": 3},
                 lora_dropout=0.1, task_type="CAUSAL_LM", init_lora_weights=False)
m = get_peft_model(fresh(), cfg).eval()
with torch.no_grad():
    save("peft-rslora-patterns", m, m(input_ids=ids).logits)

# The multimodal layout (model.language_model.layers.N), module-name targets.
torch.manual_seed(1)
cfg = LoraConfig(r=3, lora_alpha=5, target_modules=["o_proj", "gate_proj", "k_proj"], init_lora_weights=False)
m = get_peft_model(Wrap(fresh()), cfg).eval()
with torch.no_grad():
    save("peft-multimodal", m, m(input_ids=ids))
