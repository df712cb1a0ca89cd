// Add New User and Edit User: the Expert's Access till and Access level
// show while Expert is checked (or a date is set), so the form asks only
// for what applies. The server marks them shown or not in the page it
// sends, and without this script they are always there. Listening on the
// document also serves the Edit User form that a dialog inserts later.
//
// The Edit User form also says, before saving, which features the change
// adds and removes: the page embeds each role's permissions (and the
// Expert's per access level) as JSON, and what the user held when the form
// was opened.
(function () {
  "use strict";

  // permissionsOf returns the set of permissions roles grant, the Expert's
  // at level (read-only when none is chosen).
  function permissionsOf(data, roles, level) {
    var set = {};
    roles.forEach(function (role) {
      var list = role === "expert" ? (data.levels[level] || data.levels.read_only) : data.roles[role];
      (list || []).forEach(function (p) {
        set[p] = true;
      });
    });
    return set;
  }

  function line(text, names) {
    var p = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = text;
    p.appendChild(strong);
    p.appendChild(document.createTextNode(" " + names.join(", ") + "."));
    return p;
  }

  function summarise(form) {
    var script = form.querySelector("#role-permissions");
    var out = form.querySelector("#change-summary");
    if (!script || !out) {
      return;
    }
    var data = JSON.parse(script.textContent);
    var wasRoles = out.getAttribute("data-was-roles");
    var wasLevel = out.getAttribute("data-was-level");
    var before = permissionsOf(data, wasRoles ? wasRoles.split(",") : [], wasLevel);
    var ticked = Array.prototype.map.call(form.querySelectorAll('input[name="roles"]:checked'), function (box) {
      return box.value;
    });
    var chosen = form.querySelector('input[name="expert_access"]:checked');
    var after = permissionsOf(data, ticked, chosen ? chosen.value : wasLevel);
    var names = function (from, without) {
      return data.order.filter(function (p) {
        return from[p] && !without[p];
      }).map(function (p) {
        return data.names[p];
      });
    };
    var adds = names(after, before);
    var removes = names(before, after);
    out.textContent = "";
    if (adds.length) {
      out.appendChild(line("This change adds:", adds));
    }
    if (removes.length) {
      out.appendChild(line("This change removes:", removes));
    }
    out.classList.toggle("shown", adds.length + removes.length > 0);
  }

  document.addEventListener("change", function (ev) {
    var box = ev.target;
    if (!(box instanceof HTMLInputElement) || !box.form) {
      return;
    }
    if (box.name === "roles" || box.name === "expert_access") {
      summarise(box.form);
    }
    if (box.type !== "checkbox" || !box.id) {
      return;
    }
    var reveal = box.form.querySelector('[data-shown-by="' + CSS.escape(box.id) + '"]');
    var input = reveal && reveal.querySelector('input[type="date"]');
    if (input) {
      reveal.classList.toggle("shown", box.checked || input.value !== "");
    }
  });
})();
