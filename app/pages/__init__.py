"""The app's page scripts, one per page of streamlit_app.py's navigation; their helpers live beside this folder."""
