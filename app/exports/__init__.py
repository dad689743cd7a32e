"""Other formats of what the API already serves: TimelineJS for the timeline, iCalendar for hearings."""
