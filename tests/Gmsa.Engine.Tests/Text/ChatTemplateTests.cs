using System.Text.Json.Nodes;
using Gmsa.Engine.Text;
using Xunit;

namespace Gmsa.Engine.Tests.Text;

public class ChatTemplateTests
{
    private static readonly ChatMessage System = new("system", "You are helpful.");
    private static readonly ChatMessage User1 = new("user", "Hi!");
    private static readonly ChatMessage Assistant1 = new("assistant", "Hello.");
    private static readonly ChatMessage User2 = new("user", "Tell me a story.");

    [Fact]
    public void Render_ChatMl_MatchesQwenLayout()
    {
        ChatPrompt prompt = new ChatTemplate(ChatFormat.ChatML).Render([System, User1, Assistant1, User2]);

        Assert.Equal(
            "<|im_start|>system\nYou are helpful.<|im_end|>\n" +
            "<|im_start|>user\nHi!<|im_end|>\n" +
            "<|im_start|>assistant\nHello.<|im_end|>\n" +
            "<|im_start|>user\nTell me a story.<|im_end|>\n" +
            "<|im_start|>assistant\n", prompt.Text);
        Assert.False(prompt.IncludesBos);
    }

    [Fact]
    public void Render_ChatMlWithoutGenerationPrompt_EndsAfterLastTurn()
    {
        ChatPrompt prompt = new ChatTemplate(ChatFormat.ChatML).Render([User1], addGenerationPrompt: false);

        Assert.Equal("<|im_start|>user\nHi!<|im_end|>\n", prompt.Text);
    }

    [Fact]
    public void Render_Llama2MultiTurn_FoldsSystemIntoFirstInst()
    {
        ChatPrompt prompt = new ChatTemplate(ChatFormat.Llama2).Render([System, User1, Assistant1, User2]);

        Assert.Equal(
            "<s>[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi! [/INST] Hello. </s>" +
            "<s>[INST] Tell me a story. [/INST]", prompt.Text);
        Assert.True(prompt.IncludesBos);
    }

    [Fact]
    public void Render_Llama2NoSystem_StartsWithInst()
    {
        Assert.Equal("<s>[INST] Hi! [/INST]", new ChatTemplate(ChatFormat.Llama2).Render([User1]).Text);
    }

    [Fact]
    public void Render_Llama2TwoUsersInARow_Throws()
    {
        Assert.Throws<ArgumentException>(() => new ChatTemplate(ChatFormat.Llama2).Render([User1, User2]));
    }

    [Fact]
    public void Render_Llama3_MatchesHeaderLayout()
    {
        ChatPrompt prompt = new ChatTemplate(ChatFormat.Llama3).Render([System, User1]);

        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n", prompt.Text);
        Assert.True(prompt.IncludesBos);
    }

    [Fact]
    public void Render_Plain_JoinsContents()
    {
        ChatPrompt prompt = new ChatTemplate(ChatFormat.Plain).Render([new ChatMessage("user", "Once upon a time")]);

        Assert.Equal("Once upon a time", prompt.Text);
        Assert.False(prompt.IncludesBos);
    }

    [Theory]
    [InlineData(ChatFormat.Plain)]
    [InlineData(ChatFormat.ChatML)]
    [InlineData(ChatFormat.Llama2)]
    [InlineData(ChatFormat.Llama3)]
    public void Render_DeveloperRole_RendersAsASystemMessage(ChatFormat format)
    {
        // OpenAI's newer name for system: no template here has a developer turn (ChatML would have written "developer")
        var template = new ChatTemplate(format);

        Assert.Equal(template.Render([System, User1, Assistant1, User2]),
            template.Render([new ChatMessage("developer", System.Content), User1, Assistant1, User2]));
    }

    [Fact]
    public void Render_UnknownRole_ThrowsNamingTheRolesTaken()
    {
        var e = Assert.Throws<ArgumentException>(() => new ChatTemplate(ChatFormat.ChatML).Render([new ChatMessage("tool", "42")]));

        Assert.Contains("role 'tool' is not supported (system, developer, user, assistant are)", e.Message);
    }

    [Fact]
    public void Encode_Llama2Template_MatchesMetaTurnByTurnIds()
    {
        string path = Fixtures.Find("llama2-tokenizer/tokenizer.model")
                      ?? throw new InvalidOperationException(Skip("fixture ../shared/fixtures/llama2-tokenizer is not available"));
        var tok = TextTokenizer.Load(path);

        IReadOnlyList<int> ids = new ChatTemplate(ChatFormat.Llama2).Encode(tok, [User1, Assistant1, User2]);

        // Meta's reference: encode("[INST] Hi! [/INST] Hello. ", bos, eos) + encode("[INST] Tell me a story. [/INST]", bos).
        // <s> ▁[ INST ] ▁Hi ! ▁[ / INST ] ▁Hello . ▁ </s>, then <s> ▁[ INST ] ... (the second "[INST]" keeps its "▁").
        int[] firstExchange = [1, 518, 25580, 29962, 6324, 29991, 518, 29914, 25580, 29962, 15043, 29889, 29871, 2];
        Assert.Equal(firstExchange, ids.Take(firstExchange.Length));
        Assert.Equal([1, .. tok.Encode("[INST] Tell me a story. [/INST]", addBos: false)], ids.Skip(firstExchange.Length));
        Assert.Equal([1, 518, 25580, 29962], ids.Skip(firstExchange.Length).Take(4));
        // The answer's trailing "▁" and the next turn's "▁[" decode as two spaces.
        Assert.Equal("[INST] Hi! [/INST] Hello.  [INST] Tell me a story. [/INST]", tok.Decode(ids));
    }

    [Fact]
    public void Encode_Llama2RenderedText_SpecialStringsBecomeBosEosIds()
    {
        string path = Fixtures.Find("llama2-tokenizer/tokenizer.model")
                      ?? throw new InvalidOperationException(Skip("fixture ../shared/fixtures/llama2-tokenizer is not available"));
        var tok = TextTokenizer.Load(path);
        ChatPrompt prompt = new ChatTemplate(ChatFormat.Llama2).Render([User1, Assistant1, User2]);

        IReadOnlyList<int> ids = tok.Encode(prompt.Text, addBos: !prompt.IncludesBos);

        Assert.Equal(1, ids[0]);
        Assert.NotEqual(1, ids[1]);
        Assert.Equal(2, ids.Count(id => id == 1));
        Assert.Equal(1, ids.Count(id => id == 2));
    }

    [Fact]
    public void Encode_ChatMlTemplate_SpecialTokensAreSingleIds()
    {
        using var folder = new TinyByteLevelTokenizer();
        var tok = TextTokenizer.Load(folder.Dir);

        IReadOnlyList<int> ids = new ChatTemplate(ChatFormat.ChatML).Encode(tok, [new ChatMessage("user", "hello")]);

        // <|im_start|> "user" \n "hello" <|im_end|> \n <|im_start|> "assistant" \n
        int[] user = "user".Select(c => (int)c).ToArray();
        int[] assistant = "assistant".Select(c => (int)c).ToArray();
        Assert.Equal([263, .. user, 10, 259, 264, 10, 263, .. assistant, 10], ids);
    }

    [Fact]
    public void Detect_QwenConfig_ChoosesChatMl()
    {
        using var folder = new TinyByteLevelTokenizer(config: new JsonObject { ["model_type"] = "qwen2" });
        var tok = TextTokenizer.Load(folder.Dir);

        Assert.Equal(ChatFormat.ChatML, ChatTemplate.Detect(folder.Dir, tok).Format);
    }

    [Fact]
    public void Detect_HeaderTokenInVocab_ChoosesLlama3()
    {
        using var folder = new TinyByteLevelTokenizer(config: new JsonObject { ["model_type"] = "llama" },
            extraAddedTokens: ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]);
        var tok = TextTokenizer.Load(folder.Dir);

        Assert.Equal(ChatFormat.Llama3, ChatTemplate.Detect(folder.Dir, tok).Format);
    }

    [Fact]
    public void Detect_LlamaWithChatTemplate_ChoosesLlama2AndWithoutIt_Plain()
    {
        using var folder = new TinyByteLevelTokenizer(config: new JsonObject { ["model_type"] = "llama" },
            tokenizerConfig: new JsonObject { ["chat_template"] = "{% for m in messages %}[INST]{% endfor %}" });
        using var baseModel = new TinyByteLevelTokenizer(config: new JsonObject { ["model_type"] = "llama" });

        Assert.Equal(ChatFormat.Llama2, ChatTemplate.Detect(folder.Dir, TextTokenizer.Load(folder.Dir)).Format);
        Assert.Equal(ChatFormat.Plain, ChatTemplate.Detect(baseModel.Dir, TextTokenizer.Load(baseModel.Dir)).Format);
    }

    private static string Skip(string message)
    {
        Assert.Skip(message);
        return message;
    }
}
