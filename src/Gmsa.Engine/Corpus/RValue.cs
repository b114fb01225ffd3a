namespace Gmsa.Engine.Corpus;

/// <summary>
/// The R objects <see cref="RSerialization"/> can read: enough of R's data model for data sets
/// (character, integer, double and logical vectors, lists, pairlists) with their attributes.
/// </summary>
public abstract record RValue
{
    /// <summary>Attributes as a pairlist (names, class, dim, ...), empty when the object has none.</summary>
    public IReadOnlyList<RTagged> Attributes { get; init; } = [];

    public RValue? Attribute(string name) => Attributes.FirstOrDefault(a => a.Tag == name)?.Value;

    /// <summary>The "names" attribute, or null.</summary>
    public string?[]? Names => (Attribute("names") as RStrings)?.Values;
}

/// <summary>A pairlist cell: an optional tag (the name) and its value.</summary>
public sealed record RTagged(string? Tag, RValue Value);

/// <summary>R's NULL.</summary>
public sealed record RNull : RValue
{
    public static readonly RNull Instance = new();
}

/// <summary>A character vector (STRSXP); NA_character_ is null.</summary>
public sealed record RStrings(string?[] Values) : RValue;

/// <summary>An integer vector (INTSXP); NA is int.MinValue, as in R.</summary>
public sealed record RIntegers(int[] Values) : RValue;

/// <summary>A logical vector (LGLSXP): 0, 1, or int.MinValue for NA.</summary>
public sealed record RLogicals(int[] Values) : RValue;

/// <summary>A double vector (REALSXP).</summary>
public sealed record RReals(double[] Values) : RValue;

/// <summary>A raw vector (RAWSXP).</summary>
public sealed record RRaw(byte[] Values) : RValue;

/// <summary>A generic vector, R's list() (VECSXP).</summary>
public sealed record RList(RValue[] Items) : RValue
{
    /// <summary>The item named <paramref name="name"/> by the names attribute, or null.</summary>
    public RValue? Item(string name) => Names is { } names && Array.IndexOf(names, name) is >= 0 and var i && i < Items.Length ? Items[i] : null;
}

/// <summary>A pairlist (LISTSXP), the form attributes and old-style argument lists take.</summary>
public sealed record RPairList(IReadOnlyList<RTagged> Cells) : RValue;

/// <summary>A symbol (SYMSXP), e.g. an attribute's tag.</summary>
public sealed record RSymbol(string Name) : RValue;

/// <summary>One of R's singleton environments or markers (globalenv, emptyenv, missing argument, ...).</summary>
public sealed record RSpecial(string Name) : RValue;
