// Roster's pages work without JavaScript: every form posts and every dialog
// is also a page. This script only makes them quicker to use. Each part of
// the interface adds its behaviour in a file of its own (static/js/*.js,
// joined in name order into /static/roster.js); this first part marks the
// page as scripted, so styles can hide what only the no-script page needs.
"use strict";
document.documentElement.classList.add("js");
