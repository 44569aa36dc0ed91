// Drives llama.cpp (the CPU build inside node-llama-cpp) for the tests of
// pkg/export: reads a JSON request from argv[2], writes a JSON answer to
// argv[3] and, when asked for log-probabilities, their float32 values to
// argv[3] + ".f32".
//
// Request: {"model": "F.gguf", "vocabOnly": bool, "threads": n, "vocab": n,
//           "tokens": [ids], "greedy": n, "texts": ["…"], "specialTexts": ["…"]}
//   tokens: evaluated in one sequence (no BOS added); for every position the
//           full next-token distribution is returned as log-probabilities.
//   greedy: then this many tokens are generated greedily (argmax, no stop),
//           each with its log-probabilities.
//   texts: tokenized without special-token parsing and without BOS;
//   specialTexts: tokenized with special tokens parsed.
// node-llama-cpp exposes no raw logits: it returns, per evaluated token,
// llama.cpp's probabilities, softmax of the logits computed in float32
// (greedy sampler: the logits are not changed before). log p recovers the
// logits up to one constant per position.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import {readFileSync, writeFileSync} from "node:fs";

const req = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = {};
const llama = await getLlama({gpu: false, build: "never", logLevel: process.env.LLAMA_LOG ? LlamaLogLevel.debug : LlamaLogLevel.error, maxThreads: req.threads ?? 2});
const model = await llama.loadModel({modelPath: req.model, vocabOnly: !!req.vocabOnly, useMmap: true});
out.tokenized = (req.texts ?? []).map((t) => Array.from(model.tokenize(t, false)));
out.tokenizedSpecial = (req.specialTexts ?? []).map((t) => Array.from(model.tokenize(t, true)));

if (req.tokens?.length) {
    const n = (req.tokens.length + (req.greedy ?? 0));
    const context = await model.createContext({
        contextSize: Math.max(64, n + 8), batchSize: Math.max(64, n + 8), sequences: 1,
        flashAttention: false, threads: req.threads ?? 2,
        experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
    });
    const seq = context.getSequence();
    let vocab = req.vocab ?? 0;
    const rows = [];
    const logprobs = (probs) => {
        vocab = vocab || probs.size;
        const row = new Float32Array(vocab).fill(-Infinity);
        let best = -1, bestP = -1;
        for (const [tok, p] of probs) {
            row[tok] = Math.log(p);
            if (p > bestP) { bestP = p; best = tok; }
        }
        rows.push(row);
        return best;
    };
    const first = await seq.controlledEvaluate(req.tokens.map((t) => [t, {generateNext: {probabilities: true}}]));
    let next = -1;
    for (const r of first) next = logprobs(r.next.probabilities);
    out.greedy = [];
    for (let i = 0; i < (req.greedy ?? 0); i++) {
        out.greedy.push(next);
        if (i + 1 === req.greedy) break;
        const [r] = await seq.controlledEvaluate([[next, {generateNext: {probabilities: true}}]]);
        next = logprobs(r.next.probabilities);
    }
    out.positions = rows.length;
    out.vocab = vocab;
    const all = new Float32Array(rows.length * vocab);
    rows.forEach((r, i) => all.set(r, i * vocab));
    writeFileSync(process.argv[3] + ".f32", Buffer.from(all.buffer));
    await context.dispose();
}
await model.dispose();
await llama.dispose();
writeFileSync(process.argv[3], JSON.stringify(out));
