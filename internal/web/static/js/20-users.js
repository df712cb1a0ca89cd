// The Users page. Without this script it works through links and GET forms:
// the search answers on Enter, each row's menu is a disclosure, and Add
// Filter asks the server for one more row. With it, the search answers as
// one types (the same address fetched, its list swapped in, the address
// kept current), the row menus behave as menu buttons, and the Filters
// pop-up adds and removes rows in place. Every listener is delegated, so
// a swapped-in list needs nothing but its menus turned into buttons.
(function () {
  var page = document.querySelector("[data-users-page]");
  if (!page) {
    return;
  }
  var search = page.querySelector("[data-users-search]");
  var input = search.querySelector("input[name=q]");
  var status = document.getElementById("users-status");
  var menuSeq = 0;

  // Search as you type.
  var timer = 0;
  var pending = null;
  var shown = location.href;

  function searchURL() {
    var params = new URLSearchParams(new FormData(search));
    if (!params.get("q")) {
      params.delete("q");
    }
    var qs = params.toString();
    return new URL(search.getAttribute("action") + (qs ? "?" + qs : ""), location.href).href;
  }

  function load(url) {
    if (url === shown) {
      return;
    }
    if (pending) {
      pending.abort();
    }
    var ctrl = new AbortController();
    pending = ctrl;
    fetch(url, { signal: ctrl.signal, credentials: "same-origin" })
      .then(function (res) { return res.text(); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        var results = doc.getElementById("users-results");
        if (!results) {
          // Signed out meanwhile, or an error page: show it whole.
          location.assign(url);
          return;
        }
        page.querySelectorAll("[data-live]").forEach(function (el) {
          var fresh = doc.getElementById(el.id);
          if (fresh) {
            el.replaceWith(document.importNode(fresh, true));
          }
        });
        menus(page);
        fitAll();
        history.replaceState(null, "", url);
        shown = url;
        status.textContent = results.getAttribute("data-summary");
      })
      .catch(function (err) {
        if (err.name !== "AbortError") {
          location.assign(url);
        }
      })
      .finally(function () {
        if (pending === ctrl) {
          pending = null;
        }
      });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    // One or two letters match nearly everyone and cannot use the search
    // index, so as-you-type waits for a third; Enter searches them.
    var typed = Array.from(input.value.trim()).length;
    if (typed === 1 || typed === 2) {
      return;
    }
    timer = setTimeout(function () { load(searchURL()); }, 250);
  });
  search.addEventListener("submit", function (ev) {
    ev.preventDefault();
    clearTimeout(timer);
    load(searchURL());
  });

  // Row menus: each <details> becomes a button that opens a menu.
  function menus(root) {
    root.querySelectorAll("details[data-menu]").forEach(function (d) {
      var summary = d.querySelector("summary");
      var list = d.querySelector("ul");
      var wrap = document.createElement("div");
      wrap.className = "row-menu";
      wrap.setAttribute("data-menu", "");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "menu-button";
      button.setAttribute("aria-label", summary.getAttribute("aria-label"));
      button.setAttribute("aria-haspopup", "menu");
      button.setAttribute("aria-expanded", "false");
      while (summary.firstChild) {
        button.appendChild(summary.firstChild);
      }
      list.id = "row-menu-" + (++menuSeq);
      button.setAttribute("aria-controls", list.id);
      list.setAttribute("role", "menu");
      list.setAttribute("aria-label", summary.getAttribute("aria-label"));
      list.hidden = true;
      list.querySelectorAll("li").forEach(function (li) { li.setAttribute("role", "none"); });
      list.querySelectorAll("a").forEach(function (a) {
        a.setAttribute("role", "menuitem");
        a.tabIndex = -1;
      });
      wrap.append(button, list);
      d.replaceWith(wrap);
    });
  }

  function parts(menu) {
    return {
      button: menu.querySelector(".menu-button"),
      list: menu.querySelector("[role=menu]"),
      items: Array.prototype.slice.call(menu.querySelectorAll("[role=menuitem]")),
    };
  }

  function openMenu(menu, index) {
    closeMenus(null);
    var m = parts(menu);
    m.list.hidden = false;
    m.button.setAttribute("aria-expanded", "true");
    var i = index < 0 ? m.items.length - 1 : index;
    if (m.items[i]) {
      m.items[i].focus();
    }
  }

  function closeMenu(menu, focusButton) {
    var m = parts(menu);
    m.list.hidden = true;
    m.button.setAttribute("aria-expanded", "false");
    if (focusButton) {
      m.button.focus();
    }
  }

  function closeMenus(except) {
    page.querySelectorAll("[data-menu] .menu-button[aria-expanded=true]").forEach(function (b) {
      var menu = b.closest("[data-menu]");
      if (menu !== except) {
        closeMenu(menu, false);
      }
    });
  }

  page.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-menu] .menu-button");
    if (button) {
      var menu = button.closest("[data-menu]");
      if (button.getAttribute("aria-expanded") === "true") {
        closeMenu(menu, true);
      } else {
        openMenu(menu, 0);
      }
    }
  });

  // A chosen action closes its menu and puts focus back on the menu
  // button before the action's dialog (or page) opens, so that closing
  // the dialog returns there. Capture: before the dialog script's click.
  document.addEventListener("click", function (ev) {
    var item = ev.target.closest && ev.target.closest("[data-menu] [role=menuitem]");
    if (item) {
      closeMenu(item.closest("[data-menu]"), true);
    } else if (!ev.target.closest || !ev.target.closest("[data-menu]")) {
      closeMenus(null);
    }
  }, true);

  document.addEventListener("focusin", function (ev) {
    closeMenus(ev.target.closest ? ev.target.closest("[data-menu]") : null);
  });

  page.addEventListener("keydown", function (ev) {
    var menu = ev.target.closest("[data-menu]");
    if (!menu) {
      return;
    }
    var m = parts(menu);
    if (ev.target === m.button) {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        openMenu(menu, ev.key === "ArrowDown" ? 0 : -1);
      }
      return;
    }
    var i = m.items.indexOf(ev.target);
    if (i < 0) {
      return;
    }
    var n = m.items.length;
    var next = -1;
    switch (ev.key) {
      case "ArrowDown": next = (i + 1) % n; break;
      case "ArrowUp": next = (i - 1 + n) % n; break;
      case "Home": next = 0; break;
      case "End": next = n - 1; break;
      case "Escape":
        ev.preventDefault();
        closeMenu(menu, true);
        return;
      case "Tab":
        // Leave from the button: the browser then moves on from there.
        closeMenu(menu, true);
        return;
      default:
        if (ev.key.length === 1 && /\S/.test(ev.key)) {
          var k = ev.key.toLowerCase();
          for (var j = 1; j <= n; j++) {
            var c = m.items[(i + j) % n];
            if (c.textContent.trim().toLowerCase().indexOf(k) === 0) {
              next = (i + j) % n;
              break;
            }
          }
        }
    }
    if (next >= 0) {
      ev.preventDefault();
      m.items[next].focus();
    }
  });

  // The Filters pop-up.
  function filters() {
    return page.querySelector("[data-filters]");
  }

  // renumber gives the rows' fields the ids and labels of their places.
  function renumber(panel) {
    panel.querySelectorAll("[data-filter-row]").forEach(function (row, i) {
      var n = i + 1;
      row.querySelectorAll("select").forEach(function (sel) {
        var id = "filter-" + n + "-" + sel.name;
        var label = row.querySelector("label[for='" + sel.id + "']");
        sel.id = id;
        if (label) {
          label.htmlFor = id;
          var which = label.querySelector("[data-row-n]");
          if (which) {
            which.textContent = ", filter " + n;
          }
        }
      });
      var remove = row.querySelector(".remove-row");
      remove.value = String(i);
      remove.querySelector(".visually-hidden").textContent = " filter " + n;
    });
  }

  // fitOptions offers only the options of the row's criteria.
  function fitOptions(row) {
    var crit = row.querySelector("[data-criterion]").value;
    var opt = row.querySelector("[data-option]");
    opt.querySelectorAll("optgroup").forEach(function (g) {
      var off = crit !== "" && g.getAttribute("data-group") !== crit;
      g.disabled = off;
      g.hidden = off;
    });
    var sel = opt.selectedOptions[0];
    if (sel && sel.parentElement.disabled) {
      opt.value = "";
    }
  }

  function fitAll() {
    var panel = filters();
    if (panel) {
      panel.querySelectorAll("[data-filter-row]").forEach(fitOptions);
    }
  }
  fitAll();

  page.addEventListener("change", function (ev) {
    if (ev.target.matches("[data-criterion]")) {
      fitOptions(ev.target.closest("[data-filter-row]"));
    }
  });

  page.addEventListener("click", function (ev) {
    var panel = filters();
    if (!panel || !panel.contains(ev.target)) {
      return;
    }
    var rows = panel.querySelector("[data-filter-rows]");
    if (ev.target.closest("[data-add-filter]")) {
      ev.preventDefault();
      var all = rows.querySelectorAll("[data-filter-row]");
      if (all.length >= 20) {
        return;
      }
      var row = all[all.length - 1].cloneNode(true);
      row.querySelectorAll("select").forEach(function (sel) {
        sel.selectedIndex = 0;
        sel.removeAttribute("autofocus");
      });
      rows.appendChild(row);
      renumber(panel);
      fitOptions(row);
      row.querySelector("select").focus();
      return;
    }
    var remove = ev.target.closest(".remove-row");
    if (remove) {
      ev.preventDefault();
      var r = remove.closest("[data-filter-row]");
      var focus;
      if (rows.querySelectorAll("[data-filter-row]").length === 1) {
        r.querySelectorAll("select").forEach(function (sel) { sel.selectedIndex = 0; });
        fitOptions(r);
        focus = r.querySelector("select");
      } else {
        var after = r.nextElementSibling || r.previousElementSibling;
        r.remove();
        focus = after.querySelector("select");
      }
      renumber(panel);
      focus.focus();
    }
  });

  // Opening the pop-up takes focus into it; Escape or a click outside
  // closes it, Escape returning focus to the Filters button.
  document.addEventListener("toggle", function (ev) {
    if (ev.target.matches && ev.target.matches("[data-filters]") && ev.target.open) {
      var first = ev.target.querySelector("select");
      if (first) {
        first.focus();
      }
    }
  }, true);

  page.addEventListener("keydown", function (ev) {
    var panel = filters();
    if (ev.key === "Escape" && panel && panel.open && panel.contains(ev.target)) {
      ev.preventDefault();
      panel.open = false;
      panel.querySelector("summary").focus();
    }
  });

  document.addEventListener("click", function (ev) {
    var panel = filters();
    if (panel && panel.open && !panel.contains(ev.target)) {
      panel.open = false;
    }
  });

  menus(page);
})();
