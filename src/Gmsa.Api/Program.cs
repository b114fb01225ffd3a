using Gmsa.Api.Endpoints;
using Gmsa.Api.Hosting;
using Gmsa.Api.Telemetry;
using Gmsa.Engine.Platform;

GlibcAllocator.KeepFreedMemory(); // libtorch's CPU activations would page-fault on every op otherwise
OpenMpWaitPolicy.SleepBetweenRegions(); // before libtorch loads: its idle threads would hold the core the decode step needs

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    ContentRootPath = ContentRoot.Find(Directory.GetCurrentDirectory(), AppContext.BaseDirectory, args), // appsettings.json from anywhere
});
builder.AddGmsaTelemetry();     // Serilog, OpenTelemetry metrics and traces, OTLP when configured
builder.AddGmsaModel();         // options checked at start-up, the model, its scheduler, readiness
builder.AddGmsaHttpApi();       // snake_case JSON, validation, ProblemDetails, body size limit, Swagger
builder.AddGmsaAccessControl(); // API keys, per-key rate limit, deadlines, draining on SIGTERM

var app = builder.Build();
if (!app.SettingsAreValid()) return 1;   // one line naming the setting, not a stack trace
app.UseGmsaRequestLogging();    // outermost, so it logs the status the client got
app.UseExceptionHandler();      // unhandled errors and unreadable bodies as ProblemDetails
app.UseStatusCodePages();       // bare status codes (404, 405, ...) as ProblemDetails
app.UseGmsaAccessControl();     // before the endpoints: a refused request costs no model time
app.UseDefaultFiles();          // the playground at / (wwwroot/index.html), static files with no build step
app.UseStaticFiles();
app.UseSwagger();
app.UseSwaggerUI();

app.MapCompletionEndpoints();
app.MapCompressionEndpoints();
app.MapChatEndpoints();
app.MapModelEndpoints();
app.MapHealthEndpoints();
app.MapPrometheusScrapingEndpoint();

return await app.RunOrExplainAsync();
