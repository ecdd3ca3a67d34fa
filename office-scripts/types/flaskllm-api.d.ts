// The FlaskLLM API types the Office Scripts use, as global names, taken from the types that
// `npm run gen` generates from spec/openapi.yaml (generated/api.ts). In Excel a script is one
// file with no imports, so `npm run gen` also writes each script to excel/ with these types
// pasted above it (tools/build.mjs): the scripts name these aliases and nothing else.
// One alias per line, `type Name = components[...]...;`: tools/build.mjs copies these lines.

type components = import("../generated/api").components;
type ProcessingType = components["schemas"]["ProcessingType"];
type PromptRequest = components["schemas"]["Prompt"];
type ProcessResult = components["schemas"]["ProcessResult"];
type BatchTextsRequest = components["schemas"]["BatchTexts"];
type BatchResponse = components["schemas"]["BatchResponse"];
type BatchResult = components["schemas"]["BatchResult"];
type Problem = components["schemas"]["Problem"];
type KeywordsData = components["schemas"]["KeywordsData"];
type SentimentData = components["schemas"]["SentimentData"];
type EntitiesData = components["schemas"]["EntitiesData"];
type TextData = components["schemas"]["TextData"];
type HealthResponse = components["schemas"]["Health"];
type TemplateListResponse = components["schemas"]["TemplateList"];
type UsageReport = components["schemas"]["UsageReport"];
type UsageLine = components["schemas"]["UsageLine"];
type BudgetStatus = components["schemas"]["BudgetStatus"];
type EstimateResponse = components["schemas"]["Estimate"];
