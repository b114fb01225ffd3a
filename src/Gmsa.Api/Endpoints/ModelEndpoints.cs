using Gmsa.Api.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Gmsa.Api.Endpoints;

/// <summary>GET /v1/models: what is loaded (id, family, size, context, dtype, device, tokenizer).</summary>
public static class ModelEndpoints
{
    public static IEndpointRouteBuilder MapModelEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/models").WithTags("Models");
        group.MapGet("/", ListModels).WithName("ListModels").WithSummary("The model this service serves");
        group.MapGet("/{id}", GetModel).WithName("GetModel").WithSummary("One model by id")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static Ok<ModelList> ListModels(ModelInfo model) => TypedResults.Ok(new ModelList([model]));

    public static Results<Ok<ModelInfo>, ProblemHttpResult> GetModel(string id, ModelInfo model) =>
        id == model.Id
            ? TypedResults.Ok(model)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"this service serves '{model.Id}' only");
}
