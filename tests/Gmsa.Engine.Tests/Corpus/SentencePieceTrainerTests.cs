using Gmsa.Engine.Corpus;
using Gmsa.Engine.Text;

namespace Gmsa.Engine.Tests.Corpus;

public class SentencePieceTrainerTests
{
    [Fact]
    public void WriteLlamaConfig_BesideTok512_LoadsAsLlamaTokenizerAddingBosOnly()
    {
        using var dir = new TempDir();
        File.Copy(Fixtures.Require("stories260k/tok512.model"), dir.File(SentencePieceTrainer.ModelFile));

        TokenizerConfig.WriteLlama(dir.Path, modelMaxLength: 1024);
        var tokenizer = TextTokenizer.Load(dir.Path);

        Assert.Equal((1, 2, 0), (tokenizer.BosId, tokenizer.EosId, tokenizer.UnkId));
        Assert.Null(tokenizer.PadId);
        Assert.True(tokenizer.AddBosToken);
        Assert.False(tokenizer.AddEosToken);
        Assert.Equal(1, tokenizer.Encode("Once upon a time")[0]);
        Assert.Contains("\"bos_token\": \"<s>\"", File.ReadAllText(dir.File("tokenizer_config.json")));
    }

    [Fact]
    public void Train_MissingTrainSplit_SaysToRunPrepare()
    {
        RequireSpm();
        using var dir = new TempDir();

        var e = Assert.Throws<FileNotFoundException>(() =>
            SentencePieceTrainer.Train(new TokenizerTrainingOptions { CorpusDir = dir.File("corpus"), OutDir = dir.File("tok") }));
        Assert.Contains("gmsa data prepare", e.Message);
    }

    [Fact]
    public void Train_StoriesCorpus_ModelLoadsRoundTripsAndMatchesSpmEncode()
    {
        RequireSpm();
        string[] stories = File.ReadAllText(Fixtures.Require("stories260k/tinystories_validation_100.txt"))
            .Split("<|endoftext|>", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        using var dir = new TempDir();
        string corpus = dir.File("corpus"), tok = dir.File("tok");
        Directory.CreateDirectory(corpus);
        var docs = stories.Select((s, i) => new CorpusDocument($"stories/{i}", "stories", $"story {i}", s.Replace("\n", "\n\n"))).ToList();
        CorpusJsonl.Write(CorpusJsonl.SplitPath(corpus, CorpusSplit.Train), docs[10..]);
        CorpusJsonl.Write(CorpusJsonl.SplitPath(corpus, CorpusSplit.Validation), docs[..10]);

        TokenizerReport report = SentencePieceTrainer.Train(new TokenizerTrainingOptions { CorpusDir = corpus, OutDir = tok, VocabSize = 600 });

        var tokenizer = TextTokenizer.Load(tok);
        Assert.Equal(600, tokenizer.VocabSize);
        Assert.Equal(SentencePieceTrainer.ParagraphLines(docs[10..]).Count(), report.TrainingLines);
        Assert.True(report.Check.Lines > 10);
        Assert.Equal(0, report.Check.Differing);            // no runs of one letter in these stories: ids must agree exactly
        foreach (CorpusDocument d in docs[..10])
            Assert.Equal(d.Text, tokenizer.Decode(tokenizer.Encode(d.Text)));
    }

    static void RequireSpm()
    {
        try
        {
            ExternalTool.Require("spm_train", SentencePieceTrainer.Package);
        }
        catch (FileNotFoundException e)
        {
            Assert.Skip($"{e.Message}; .ci/run installs it where it can");
        }
    }
}
