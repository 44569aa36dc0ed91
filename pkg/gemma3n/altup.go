package gemma3n

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
)

// AltUp keeps n copies ("streams") of the residual stream. In the graph they
// are stacked as [B, T, n, D] so that predict and correct are batched
// products; streamsToHF converts to HF's [n, B, T, D] for outputs.

// altUpMagnitudeFloor is the floor on the mean square in the AltUp
// magnitude matching (HF ≥ mid-2025: sqrt(max(mean², 1e-5))).
const altUpMagnitudeFloor = 1e-5

// matchMagnitude rescales p to the RMS target (float32, per token):
// p · target / sqrt(max(mean(p²), 1e-5)), in HF's order. It computes in
// float32 (HF reduces with float32 accumulation too; SimpleGo would
// accumulate bfloat16 reductions in bfloat16) and returns p's dtype.
func matchMagnitude(p, target *Node) *Node {
	p32 := ConvertDType(p, dtypes.Float32)
	meanSq := ReduceAndKeep(Square(p32), ReduceMean, -1)
	mag := Sqrt(MaxScalar(meanSq, altUpMagnitudeFloor))
	return ConvertDType(Div(Mul(p32, target), mag), p.DType())
}

// altUpStreams are the model-level AltUp projections: into the extra
// streams after the embedding, and back before the final norm.
type altUpStreams struct {
	Projections []linear `hf:"altup_projections" shape:"D,D"`         // n−1
	Unembed     []linear `hf:"altup_unembed_projections" shape:"D,D"` // n−1
}

// init builds the n AltUp streams from the scaled embedding e (spec §3.3):
// stream 0 is e, stream k is Lin(e; altup_projections[k−1]) rescaled to the
// RMS of e.
func (a *altUpStreams) init(f *forward, e *Node) *Node {
	target := rms(e)
	streams := []*Node{e}
	for _, proj := range a.Projections {
		streams = append(streams, matchMagnitude(proj.forward(f, e), target))
	}
	return Stack(streams, 2)
}

// merge maps streams 1..n−1 back with altup_unembed_projections, matches
// their magnitude to stream 0 and averages the n streams (spec §3.8; the
// final norm follows). Returns [B, T, D].
func (a *altUpStreams) merge(f *forward, streams *Node) *Node {
	s0 := f.selectStream(streams, 0)
	target := rms(s0)
	sum := s0
	for k, unembed := range a.Unembed {
		sum = Add(sum, matchMagnitude(unembed.forward(f, f.selectStream(streams, k+1)), target))
	}
	return DivScalar(sum, float64(len(a.Unembed)+1))
}

// selectStream returns stream k [B, T, D] of streams [B, T, n, D].
func (f *forward) selectStream(streams *Node, k int) *Node {
	return Squeeze(SliceAxis(streams, 2, AxisElem(k)), 2)
}

// streamsToHF converts [B, T, n, D] to HF's hidden-state layout [n, B, T, D].
func streamsToHF(streams *Node) *Node {
	return TransposeAllAxes(streams, 2, 0, 1, 3)
}

// altUp is the per-layer AltUp block (spec §3.5): it predicts the n
// streams from the active one before the layer, corrects them with the
// layer's output after it, and scales what the per-layer input injection
// starts from.
type altUp struct {
	CorrectOutputScale scale  `hf:"correct_output_scale" shape:"D"`
	CorrectionCoefs    linear `hf:"correction_coefs,clip" shape:"n,n"`
	PredictionCoefs    linear `hf:"prediction_coefs,clip" shape:"n*n,n"`
	ModalityRouter     linear `hf:"modality_router" shape:"n,D"`
	RouterNorm         norm   `hf:"router_norm" shape:"D"`
}

// router computes the AltUp modalities of x [B, T, D] (spec §3.5):
// tanh(Lin(RMS_{router_norm}(x) · 1/D; modality_router)), the tanh in float32.
// Returns [B, T, n] in x's dtype.
func (a *altUp) router(f *forward, x *Node) *Node {
	y := a.RouterNorm.forward(f, x)
	y = MulScalar(y, 1/float64(f.cfg.HiddenSize))
	y = a.ModalityRouter.forward(f, y)
	return ConvertDType(Tanh(ConvertDType(y, dtypes.Float32)), x.DType())
}

// predict returns the predicted streams (spec §3.5):
// Pred[i] = S[i] + Σ_j C[i][j]·S[j], C = Lin(router(S[0]); prediction_coefs)
// reshaped [n, n] per token.
func (a *altUp) predict(f *forward, streams *Node) *Node {
	n := f.cfg.AltUpNumInputs
	mod := a.router(f, f.selectStream(streams, 0))
	coefs := Reshape(a.PredictionCoefs.forward(f, mod), f.batch, f.seq, n, n)
	return Add(einsum("btij,btjd->btid", coefs, streams), streams)
}

// correct corrects every predicted stream with the innovation of the active one
// (spec §3.5): Cor[i] = Pred[i] + (Lin(router(h); correction_coefs)[i] + 1)·(h
// − Pred[0]).
func (a *altUp) correct(f *forward, pred, activated *Node) *Node {
	mod := a.router(f, activated)
	innovation := Sub(activated, f.selectStream(pred, 0))      // [B,T,D]
	coefs := AddScalar(a.CorrectionCoefs.forward(f, mod), 1.0) // [B,T,n]
	// The outer product as a batched DotGeneral: its gradients accumulate in
	// float32, unlike a broadcast multiply's reduce-sum in bfloat16.
	return Add(einsum("btn,btd->btnd", coefs, innovation), pred)
}

// scaleOutput multiplies the corrected active stream g [B, T, D] by
// correct_output_scale, when the config asks for it (altup_correct_scale),
// in float32 so that the scale's gradient sums over tokens in float32.
func (a *altUp) scaleOutput(f *forward, g *Node) *Node {
	if !f.cfg.AltUpCorrectScale {
		return g
	}
	s := ExpandLeftToRank(ConvertDType(a.CorrectOutputScale.node(f), dtypes.Float32), g.Rank())
	return ConvertDType(Mul(ConvertDType(g, dtypes.Float32), s), g.DType())
}
