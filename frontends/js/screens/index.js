// The domain screens of the mini-app, one module per domain. Each module calls
// registerScreen (see ../screens.js) for the home slots it fills. Add yours here:
//
//   import "./task.js";      // issue 4: assignments, duty check-in
//   import "./estate.js";    // issue 5: requests, evaluation
//   import "./visit.js";     // issue 6: visits due, warnings
import "./content.js";
import "./notification.js";
import "./warning.js";
import "./request.js";
import "./property.js";
import "./evaluation.js";
import "./coordination.js";
