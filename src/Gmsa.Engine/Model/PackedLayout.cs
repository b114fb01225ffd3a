using Gmsa.Engine.Generation;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

// Legend: N packed rows, T a segment's new positions, S its cached + new positions, D hidden, V vocab.

/// <summary>
/// One sequence's next positions in a packed forward (<see cref="CausalLM.PrefillPacked"/>): embeddings [1, T, D] read
/// after what <see cref="Cache"/> holds (the cache then advances by T), and whether the last position's logits are wanted.
/// </summary>
public sealed record PackedInput(Tensor Embeddings, KvCache Cache, bool WantsLogits);

/// <summary>A sequence's rows [Offset, Offset + Length) of a packed forward, and the cache they attend over and extend.</summary>
public sealed record PackedSegment(int Offset, int Length, KvCache Cache);

/// <summary>
/// How the rows of a packed forward split into sequences: each segment's causal mask over its cache ([1, 1, T, S], or
/// null where SDPA's causal flag is exact, as <see cref="AttentionMask.Build"/> says for that sequence alone), and the
/// padding rows that follow the last segment and attend to nothing.
/// </summary>
public sealed record PackedLayout(IReadOnlyList<PackedSegment> Segments, Tensor?[] Masks, int PaddingRows);
