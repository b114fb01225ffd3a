// Writes the logits of llama2.c's own forward pass (run.c, which is not in this repository) for a
// greedy run from BOS, as the JSON that Golden/Llama2cLogitsTests compares our engine against.
// Build and run: see README.md in this folder.
#define TESTING
#include "run.c"

int main(int argc, char *argv[]) {
    if (argc != 3) { fprintf(stderr, "usage: llama2c_logits MODEL.bin POSITIONS\n"); return 1; }
    Transformer transformer;
    build_transformer(&transformer, argv[1]);
    int positions = atoi(argv[2]);
    int vocab = transformer.config.vocab_size;
    int token = 1; // BOS, as run.c starts every generation
    printf("{\n  \"source\": \"llama2.c run.c forward(), float32\",\n  \"positions\": [\n");
    for (int pos = 0; pos < positions; pos++) {
        float *logits = forward(&transformer, token, pos);
        int next = 0;
        for (int i = 1; i < vocab; i++) if (logits[i] > logits[next]) next = i;
        printf("    {\"token\": %d, \"argmax\": %d, \"logits\": [", token, next);
        for (int i = 0; i < vocab; i++) printf(i ? ", %.8g" : "%.8g", logits[i]);
        printf("]}%s\n", pos + 1 < positions ? "," : "");
        token = next;
    }
    printf("  ]\n}\n");
    free_transformer(&transformer);
    return 0;
}
