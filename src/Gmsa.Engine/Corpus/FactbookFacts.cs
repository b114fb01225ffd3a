using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gmsa.Engine.Corpus;

/// <summary>One fact of a country: the sentence that states it, the question it answers, its gold answers (first = target).</summary>
public sealed record CountryFact(string Field, string Sentence, string Question, IReadOnlyList<string> Answers);

/// <summary>
/// Short facts from the Factbook's structured fields ("Paris", "643,801 sq km", "euro"), each cleaned to
/// a gold answer and stated in one sentence that names the country and contains every gold answer
/// verbatim. A field whose text does not fit its expected shape is skipped rather than guessed at:
/// the Factbook's free text ("none (territory of New Zealand)", notes after semicolons) varies too much.
/// </summary>
public static partial class FactbookFacts
{
    /// <summary>The facts read, in the order their questions are asked.</summary>
    public static readonly IReadOnlyList<string> Fields =
    [
        "capital", "region", "area", "coastline", "highest point", "highest elevation", "population", "language",
        "life expectancy", "government type", "independence", "national holiday", "holiday date", "currency",
    ];

    /// <summary>The archive's short forms that do not read as a name ("The Dominican" for the Dominican Republic).</summary>
    static readonly Dictionary<string, string> NameOverrides = new(StringComparer.Ordinal) { ["dr"] = "Dominican Republic" };

    /// <summary>Irregular plurals of currency names as the Factbook spells them; the rest drop a final "s".</summary>
    static readonly Dictionary<string, string> Singular = new(StringComparer.Ordinal)
    {
        ["kroner"] = "krone", ["kronor"] = "krona", ["kronur"] = "krona", ["koruny"] = "koruna", ["lati"] = "lats",
        ["litai"] = "litas", ["lei"] = "leu", ["leke"] = "lek", ["leva"] = "lev", ["maloti"] = "loti",
        ["meticais"] = "metical", ["colones"] = "colon", ["quetzales"] = "quetzal", ["zlotych"] = "zloty",
        ["emalangeni"] = "lilangeni",
    };

    /// <summary>
    /// The country's name for sentences: the conventional short form, else the long form; asides in
    /// parentheses dropped ("Holy See (Vatican City)" -> "Holy See"); null for entries without a usable name
    /// (the oceans, the world, lists of islands).
    /// </summary>
    public static string? CountryName(string code, JsonElement root)
    {
        if (NameOverrides.TryGetValue(code, out string? fixedName)) return fixedName;
        foreach (string form in new[] { "conventional short form", "conventional long form" })
        {
            if (Text(root, "Government", "Country name", form) is not { } raw) continue;
            string name = Parenthesis().Replace(raw, "").Trim();
            // "none", a bare abbreviation ("DRC"), a list ("Baker Island; Howland Island") or a note are no name.
            if (name.Length == 0 || name.Equals("none", StringComparison.OrdinalIgnoreCase) || name.All(c => !char.IsLower(c)) ||
                name.Contains(';') || name.Contains(" note", StringComparison.Ordinal)) continue;
            return name;
        }
        return null;
    }

    /// <summary>The facts of one country that are present and clean, in <see cref="Fields"/> order.</summary>
    public static List<CountryFact> Read(JsonElement root, string country)
    {
        var facts = new List<CountryFact>();
        void Add(IEnumerable<CountryFact> found) => facts.AddRange(found);
        Add(Capital(root, country));
        Add(Region(root, country));
        Add(Area(root, country));
        Add(Coastline(root, country));
        Add(HighestPoint(root, country));
        Add(Population(root, country));
        Add(Language(root, country));
        Add(LifeExpectancy(root, country));
        Add(GovernmentType(root, country));
        Add(Independence(root, country));
        Add(NationalHoliday(root, country));
        Add(Currency(root, country));
        return facts;
    }

    static IEnumerable<CountryFact> Capital(JsonElement root, string country)
    {
        // "Kuala Lumpur; note - ...", "Chisinau in Romanian (Kishinev in Russian)": the name is the head.
        if (Text(root, "Government", "Capital", "name") is not { } raw || NameAndSpellings(Head(raw, ";", ":", " in ")) is not (var name, var stated, var spellings))
            yield break;
        yield return new("capital", $"The capital of {country} is {stated}.", $"What is the capital of {country}?", [name, .. spellings]);
    }

    static IEnumerable<CountryFact> Region(JsonElement root, string country)
    {
        // "Northern Africa, bordering the Mediterranean Sea, between Morocco and Tunisia": the region is the first clause.
        if (Text(root, "Geography", "Location") is not { } raw) yield break;
        string detail = Head(raw, ";");
        string region = Head(detail, ",");
        if (!IsName(region, maxWords: 4)) yield break;
        string where = Words(detail) <= 20 ? detail : region;
        yield return new("region", $"{country} is located in {where}.", $"In which region is {country} located?", [region]);
    }

    static IEnumerable<CountryFact> Area(JsonElement root, string country)
    {
        if (Text(root, "Geography", "Area", "total") is not { } raw || AreaFigure().Match(raw) is not { Success: true } m) yield break;
        string area = m.Groups["area"].Value;
        yield return new("area", $"{country} has a total area of {area}.", $"What is the total area of {country}?", [area]);
    }

    static IEnumerable<CountryFact> Coastline(JsonElement root, string country)
    {
        string? raw = Text(root, "Geography", "Coastline") ?? Text(root, "Geography", "Coastline", "total");
        if (raw is null || Coast().Match(raw) is not { Success: true } m) yield break;
        string km = m.Groups["km"].Value;
        string sentence = m.Groups["note"].Value.EndsWith("landlocked", StringComparison.Ordinal)
            ? $"{country} is landlocked, with a coastline of {km}."
            : $"{country} has a coastline of {km}.";
        yield return new("coastline", sentence, $"How long is the coastline of {country}?", [km]);
    }

    static IEnumerable<CountryFact> HighestPoint(JsonElement root, string country)
    {
        if (Text(root, "Geography", "Elevation extremes", "highest point") is not { } raw || Summit().Match(Head(raw, ";")) is not { Success: true } m)
            yield break;
        string height = m.Groups["height"].Value;
        string question = $"How high is the highest point in {country}?";
        // "unnamed elevation 805 m" has a height but no name worth asking for.
        if (m.Groups["name"].Value.StartsWith("unnamed", StringComparison.Ordinal) || NameAndSpellings(m.Groups["name"].Value) is not (var name, var stated, var spellings))
        {
            yield return new("highest elevation", $"The highest point in {country} rises to {height}.", question, [height]);
            yield break;
        }
        string sentence = $"The highest point in {country} is {stated}, at {height}.";
        yield return new("highest point", sentence, $"What is the highest point in {country}?", [name, .. spellings]);
        yield return new("highest elevation", sentence, question, [height]);
    }

    static IEnumerable<CountryFact> Population(JsonElement root, string country)
    {
        if (Text(root, "People and Society", "Population") is not { } raw || PopulationFigure().Match(raw) is not { Success: true } m) yield break;
        string count = m.Groups["count"].Value, stated = m.Value;
        yield return new("population", $"The population of {country} is {stated}.", $"What is the population of {country}?",
            stated == count ? [count] : [count, stated]);
    }

    static IEnumerable<CountryFact> Language(JsonElement root, string country)
    {
        // "Kinyarwanda only (official, universal Bantu vernacular) 93.2%, French (official) ...": the first listed language.
        if (Text(root, "People and Society", "Languages") is not { } raw) yield break;
        string first = Parenthesis().Replace(FirstItem(raw), "");
        string language = Share().Replace(first, "").Trim();
        if (language.EndsWith(" only", StringComparison.Ordinal)) language = language[..^" only".Length];
        if (!IsName(language, maxWords: 4)) yield break;
        yield return new("language", $"The main language spoken in {country} is {language}.", $"What is the main language spoken in {country}?", [language]);
    }

    static IEnumerable<CountryFact> LifeExpectancy(JsonElement root, string country)
    {
        if (Text(root, "People and Society", "Life expectancy at birth", "total population") is not { } raw || !Years().IsMatch(raw)) yield break;
        yield return new("life expectancy", $"Life expectancy at birth in {country} is {raw}.", $"What is the life expectancy at birth in {country}?", [raw]);
    }

    static IEnumerable<CountryFact> GovernmentType(JsonElement root, string country)
    {
        if (Text(root, "Government", "Government type") is not { } raw) yield break;
        string type = Head(raw, ";", ":");
        // "operates under a transitional government" is a remark, not a type.
        if (Words(type) > 5 || type.Any(char.IsAsciiDigit) || type.Contains("note", StringComparison.Ordinal) || type.Contains("government", StringComparison.Ordinal))
            yield break;
        yield return new("government type", $"The type of government in {country} is {type}.", $"What type of government does {country} have?", [type]);
    }

    static IEnumerable<CountryFact> Independence(JsonElement root, string country)
    {
        // "5 July 1962 (from France)" or a bare date; "none (...)", several dates or other asides are skipped.
        if (Text(root, "Government", "Independence") is not { } raw || IndependenceDate().Match(Head(raw, ";")) is not { Success: true } m) yield break;
        string date = m.Groups["date"].Value, from = m.Groups["from"].Value;
        // Somalia's "from" is a paragraph about two mergers; keep only a short one.
        string sentence = from.Length > 0 && Words(from) <= 8 ? $"{country} became independent from {from} on {date}." : $"{country} became independent on {date}.";
        yield return new("independence", sentence, $"When did {country} become independent?", [date]);
    }

    static IEnumerable<CountryFact> NationalHoliday(JsonElement root, string country)
    {
        // "Republic Day (Anniversary of the Chinese Revolution), 10 October (1911)": the first holiday's name and day.
        if (Text(root, "Government", "National holiday") is not { } raw || Holiday().Match(Head(raw, ";")) is not { Success: true } m) yield break;
        string name = m.Groups["name"].Value.Trim(), day = m.Groups["day"].Value;
        if (!IsName(name, maxWords: 6)) yield break;
        string sentence = $"The national holiday of {country} is {name}, celebrated on {day}.";
        yield return new("national holiday", sentence, $"What is the national holiday of {country}?", [name]);
        yield return new("holiday date", sentence, $"On what date is the national holiday of {country}?", [day]);
    }

    static IEnumerable<CountryFact> Currency(JsonElement root, string country)
    {
        // "euros (EUR) per US dollar - ++ 0.7489 (2014 est.) ++ ...", or "the US dollar is used".
        if (Text(root, "Economy", "Exchange rates") is not { } raw) yield break;
        string name, code;
        if (raw.StartsWith("the US dollar", StringComparison.Ordinal)) (name, code) = ("US dollar", "USD");
        else if (ExchangeRate().Match(raw) is { Success: true } m)
        {
            // "Tuvaluan dollars or Australian dollars", "Aruban guilders/florins": the first name.
            string plural = Head(Head(m.Groups["name"].Value, " or "), "/");
            name = SingularOf(plural);
            code = m.Groups["code"].Value;
        }
        else yield break;
        if (!IsName(name, maxWords: 5, capitalized: false)) yield break;
        string stated = code.Length > 0 ? $"{name} ({code})" : name;
        yield return new("currency", $"The currency of {country} is the {stated}.", $"What is the currency of {country}?",
            code.Length > 0 ? [name, code] : [name]);
    }

    /// <summary>"Kyiv (Kiev)" -> Kyiv stated as "Kyiv (Kiev)" with spelling Kiev; "Suva (on Viti Levu)" -> Suva, the aside dropped.</summary>
    static (string Name, string Stated, string[] Spellings)? NameAndSpellings(string text)
    {
        if (NameWithAside().Match(text.Trim()) is not { Success: true } m || !IsName(m.Groups["name"].Value, maxWords: 5)) return null;
        string name = m.Groups["name"].Value;
        string[] spellings = m.Groups["aside"].Value.Split(['/', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // Other spellings are names: every word capitalized; "administrative capital", "on Efate" are remarks.
        if (spellings.Length == 0 || !spellings.All(s => IsName(s, maxWords: 4) && s.Split(' ').All(w => char.IsUpper(w[0]))))
            return (name, name, []);
        return (name, $"{name} ({string.Join(", ", spellings)})", spellings);
    }

    static string SingularOf(string plural)
    {
        int space = plural.LastIndexOf(' ');
        string last = plural[(space + 1)..];
        string singular = Singular.TryGetValue(last, out string? s) ? s
            : last.EndsWith('s') && !last.EndsWith("ss", StringComparison.Ordinal) ? last[..^1] : last;
        return plural[..(space + 1)] + singular;
    }

    /// <summary>A short name: 1..maxWords words, no digits, a letter first (upper-case unless told otherwise).</summary>
    static bool IsName(string text, int maxWords, bool capitalized = true) =>
        text.Length > 0 && char.IsLetter(text[0]) && (!capitalized || char.IsUpper(text[0])) && Words(text) <= maxWords &&
        !text.Any(char.IsAsciiDigit) && !text.Contains("none", StringComparison.OrdinalIgnoreCase);

    /// <summary>The text before the first of <paramref name="separators"/>.</summary>
    static string Head(string text, params string[] separators)
    {
        int cut = text.Length;
        foreach (string s in separators)
            if (text.IndexOf(s, StringComparison.Ordinal) is >= 0 and var i && i < cut) cut = i;
        return text[..cut].Trim();
    }

    /// <summary>The text before the first comma or semicolon outside parentheses.</summary>
    static string FirstItem(string text)
    {
        int depth = 0;
        for (int i = 0; i < text.Length; i++)
        {
            depth += text[i] == '(' ? 1 : text[i] == ')' && depth > 0 ? -1 : 0;
            if (depth == 0 && text[i] is ',' or ';') return text[..i].Trim();
        }
        return text.Trim();
    }

    static int Words(string text) => TextCleanup.CountWords(text);

    /// <summary>The cleaned "text" of the field at <paramref name="path"/>, or null when absent, empty or "NA".</summary>
    static string? Text(JsonElement root, params string[] path)
    {
        JsonElement e = root;
        foreach (string key in path)
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(key, out e)) return null;
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("text", out JsonElement t) || t.ValueKind != JsonValueKind.String) return null;
        string text = TextCleanup.Line(t.GetString()!);
        return text.Length == 0 || text == "NA" ? null : text;
    }

    [GeneratedRegex(@"\s*\([^()]*\)")]
    private static partial Regex Parenthesis();

    [GeneratedRegex(@"^(?<name>[^()]+?)(?: \((?<aside>[^()]*)\))?$")]
    private static partial Regex NameWithAside();

    [GeneratedRegex(@"^(?<area>\d[\d,.]* sq km)\b")]
    private static partial Regex AreaFigure();

    [GeneratedRegex(@"^(?<km>\d[\d,.]* km)(?: \((?<note>[^()]*)\))?$")]
    private static partial Regex Coast();

    [GeneratedRegex(@"^(?<name>\D+?) (?<height>-?\d[\d,.]* m)$")]
    private static partial Regex Summit();

    [GeneratedRegex(@"^(?<count>\d{1,3}(?:,\d{3})*)(?: \([^()]*est\.\))?$")]
    private static partial Regex PopulationFigure();

    [GeneratedRegex(@"\s*\d[\d.,-]*%.*$")]
    private static partial Regex Share();

    [GeneratedRegex(@"^\d+(?:\.\d+)? years$")]
    private static partial Regex Years();

    [GeneratedRegex(@"^(?<date>\d{1,2} [A-Z][a-z]+ \d{3,4})(?: \(from (?<from>[^()]+)\))?$")]
    private static partial Regex IndependenceDate();

    [GeneratedRegex(@"^(?<name>[A-Z][^,()\d]*?)(?: \([^()]*\))?,? (?<day>\d{1,2} [A-Z][a-z]+)\b")]
    private static partial Regex Holiday();

    [GeneratedRegex(@"^(?<name>[^()]+?)(?: \((?<code>[A-Z]{2,3})(?:/[A-Z]{2,3})?\))? per US dollar")]
    private static partial Regex ExchangeRate();
}
