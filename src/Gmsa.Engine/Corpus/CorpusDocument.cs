namespace Gmsa.Engine.Corpus;

/// <summary>
/// One document of the corpus, as written to a split's JSONL line. <see cref="Id"/> is stable across
/// runs ("brown/ca01", "kjv/genesis"): the split a document falls in is a hash of it.
/// </summary>
public sealed record CorpusDocument(string Id, string Source, string Title, string Text);
