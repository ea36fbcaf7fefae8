// A plan, a status or a page of persons is loaded into the right pane without reloading the page.
(function () {
  var pane = document.getElementById("plan-persons");
  function load(url, push) {
    pane.setAttribute("aria-busy", "true");
    fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) { pane.innerHTML = html; pane.removeAttribute("aria-busy"); if (push) history.pushState(null, "", push); follow(); })
      .catch(function (e) { pane.removeAttribute("aria-busy"); pane.textContent = "Не удалось загрузить список (" + e.message + "). Обновите страницу."; });
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-pane]");
    if (!link) return;
    event.preventDefault();
    document.querySelectorAll("tr[data-plan]").forEach(function (row) { row.classList.toggle("selected", row.contains(link)); });
    load(link.dataset.pane, link.dataset.testid === "plan-link" ? link.href : null);
  });
  window.addEventListener("popstate", function () { location.reload(); });  // Back shows that plan
  // While a send is formed or its persons wait for the fund, the pane asks for itself (at most 10 min).
  var polls = 0, timer = null;
  function follow() {
    clearTimeout(timer);
    var marker = pane.querySelector("[data-refresh]");
    if (marker && polls++ < 300) timer = setTimeout(function () { load(marker.dataset.refresh, null); }, 2000);
  }
  follow();
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-pane-filter]")) load(event.target.value, null);
  });
})();
