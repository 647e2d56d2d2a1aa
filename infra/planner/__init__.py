"""The OpenAI-compatible itinerary planner: the answer's schema (`llm_schema`), the prompt
(`prompt`) and the adapter of the `ItineraryPlanner` port (`openai_planner`)."""
