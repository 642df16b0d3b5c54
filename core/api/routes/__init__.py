"""One router module per resource: files, prompts, generation, jobs, assets."""
