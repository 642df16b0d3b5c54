"""Course Visual Studio's library: ingestion, storyboards, prompts, generation. No Streamlit here."""

__version__ = "0.1.0"
