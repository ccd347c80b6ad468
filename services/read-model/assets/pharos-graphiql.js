// Starts GraphiQL on the page GET /graphql serves. Requests go to this origin only: the
// browser's session cookie (set by POST /api/v1/auth/login) authenticates them, or a
// bearer token typed in GraphiQL's headers tab. Subscriptions use /graphql/ws.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var login = document.getElementById("connexion");
  var message = document.getElementById("message");
  var ws = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql/ws";

  function start(who) {
    login.hidden = true;
    document.getElementById("qui").textContent = who ? "Connecté : " + who : "";
    var fetcher = GraphiQL.createFetcher({
      url: "/graphql",
      subscriptionUrl: ws,
      enableIncrementalDelivery: false,
    });
    ReactDOM.createRoot(root).render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        defaultEditorToolsVisibility: true,
        defaultQuery:
          "# Modèle de lecture de Pharos, limité à votre périmètre.\n" +
          "# Ctrl+Entrée exécute la requête ;\n" +
          "# l'onglet « Docs » décrit le schéma.\n" +
          "{\n  me { roleLabel scope }\n  schools(first: 5) { totalCount edges { node { uai name } } }\n}\n",
      })
    );
  }

  function probe() {
    fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ query: "{ me { roleLabel scope } }" }),
    }).then(function (response) {
      if (response.status === 401) {
        login.hidden = false;
        return null;
      }
      return response.json().then(function (body) {
        var me = body && body.data && body.data.me;
        start(me ? me.roleLabel + (me.scope ? " (" + me.scope + ")" : "") : "");
      });
    }).catch(function () {
      message.textContent = "Le serveur ne répond pas ; réessayez dans un instant.";
    });
  }

  login.addEventListener("submit", function (event) {
    event.preventDefault();
    message.textContent = "";
    fetch("/api/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        email: document.getElementById("email").value,
        password: document.getElementById("password").value,
      }),
    }).then(function (response) {
      if (response.ok) {
        probe();
      } else {
        return response.json().then(function (problem) {
          message.textContent = (problem && problem.detail) || "Connexion refusée.";
        }, function () {
          message.textContent = "Connexion refusée (" + response.status + ").";
        });
      }
    });
  });

  probe();
})();
